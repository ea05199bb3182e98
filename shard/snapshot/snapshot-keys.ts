// Where snapshots live in the blob store: tenants/<id>/snapshots/<snapshotId>.tar.zst + .json sidecar.
import { randomBytes } from 'node:crypto';
import { AppError, isTenantId, parseSnapshotName, SNAPSHOT_ID_PATTERN as SNAPSHOT_ID } from '../../router/index.ts';

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
  const named = parseSnapshotName(key);
  if (named !== null) return snapshotRef(named.tenantId, named.snapshotId);
  throw new AppError('SNAPSHOT_NOT_FOUND', { message: 'Not a snapshot key.', details: { key: key.slice(0, 200) } });
}

export function isSnapshotId(value: string): boolean {
  return SNAPSHOT_ID.test(value);
}
