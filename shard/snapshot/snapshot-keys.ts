// Where snapshots live in the blob store: tenants/<id>/snapshots/<snapshotId>.tar.zst + .json sidecar.
import { randomBytes } from 'node:crypto';
import { AppError, TENANT_ID_SHAPE, isTenantId } from '../../router/index.ts';

const SNAPSHOT_ID_SHAPE = '\\d{8}T\\d{9}Z-[0-9a-f]{8}';
const SNAPSHOT_ID = new RegExp(`^${SNAPSHOT_ID_SHAPE}$`);
const ARCHIVE_KEY = new RegExp(`^tenants/(${TENANT_ID_SHAPE})/snapshots/(${SNAPSHOT_ID_SHAPE})\\.(tar\\.zst|json)$`);
const SHORT_KEY = new RegExp(`^(${TENANT_ID_SHAPE})/(${SNAPSHOT_ID_SHAPE})$`);

export interface SnapshotRef {
  readonly tenantId: string;
  readonly snapshotId: string;
  readonly archiveKey: string;
  readonly manifestKey: string;
}

/** A sortable, collision-resistant snapshot id: UTC timestamp to the millisecond plus 32 random bits. */
export function newSnapshotId(now: Date): string {
  const stamp = now.toISOString().replace(/[-:.]/g, ''); // 20261123T234231123Z
  return `${stamp}-${randomBytes(4).toString('hex')}`;
}

export function snapshotsPrefix(tenantId: string): string {
  return `tenants/${tenantId}/snapshots/`;
}

export function snapshotRef(tenantId: string, snapshotId: string): SnapshotRef {
  if (!isTenantId(tenantId) || !SNAPSHOT_ID.test(snapshotId)) {
    throw new AppError('SNAPSHOT_NOT_FOUND', { message: 'Not a snapshot key.', details: { snapshotId: snapshotId.slice(0, 80) } });
  }
  const base = `${snapshotsPrefix(tenantId)}${snapshotId}`;
  return { tenantId, snapshotId, archiveKey: `${base}.tar.zst`, manifestKey: `${base}.json` };
}

/**
 * Accepts what an operator may type: the archive key, the manifest key, or `<tenantId>/<snapshotId>`.
 * (A bare snapshot id needs the tenant: use `snapshotRef`.)
 */
export function parseSnapshotKey(key: string): SnapshotRef {
  const m = ARCHIVE_KEY.exec(key);
  if (m !== null) return snapshotRef(m[1] as string, m[2] as string);
  const short = SHORT_KEY.exec(key);
  if (short !== null) return snapshotRef(short[1] as string, short[2] as string);
  throw new AppError('SNAPSHOT_NOT_FOUND', { message: 'Not a snapshot key.', details: { key: key.slice(0, 200) } });
}

export function isSnapshotId(value: string): boolean {
  return SNAPSHOT_ID.test(value);
}
