// Lists a tenant's complete snapshots straight from a blob store (archive and sidecar both present).
import { AppError, isTenantId, type BlobStore } from '../../router/index.ts';
import { isSnapshotId, snapshotRef, snapshotsPrefix } from './snapshot-keys.ts';

export interface SnapshotListItem {
  readonly id: string;
  readonly key: string;
  readonly manifestKey: string;
  readonly bytes: number;
  readonly createdAt: string;
}

function createdAtOf(snapshotId: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z/.exec(snapshotId);
  return m === null ? '' : `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${m[7]}Z`;
}

/** Oldest first; an archive without its sidecar (an interrupted snapshot) is not listed. */
export async function listSnapshots(store: BlobStore, tenantId: string): Promise<SnapshotListItem[]> {
  if (!isTenantId(tenantId)) throw new AppError('SHARD_TENANT_ID_INVALID');
  const prefix = snapshotsPrefix(tenantId);
  const objects = await store.list(prefix);
  const byKey = new Map(objects.map((o) => [o.key, o]));
  const out: SnapshotListItem[] = [];
  for (const o of objects) {
    if (!o.key.endsWith('.json')) continue;
    const snapId = o.key.slice(prefix.length, -'.json'.length);
    if (!isSnapshotId(snapId)) continue;
    const ref = snapshotRef(tenantId, snapId);
    const archive = byKey.get(ref.archiveKey);
    if (archive === undefined) continue;
    out.push({ id: snapId, key: ref.archiveKey, manifestKey: ref.manifestKey, bytes: archive.size, createdAt: createdAtOf(snapId) });
  }
  return out;
}
