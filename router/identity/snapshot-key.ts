// What names a snapshot, as an operator may type it: the archive key, the sidecar key, or
// `<tenantId>/<snapshotId>`. One parser for the router (which routes a restore by the tenant in it)
// and the shard (which reads the snapshot).
export const SNAPSHOT_ID_PATTERN = /^\d{8}T\d{9}Z-[0-9a-f]{8}$/;
const FULL_KEY = /^tenants\/([a-z0-9][a-z0-9_-]{0,31})\/snapshots\/(\d{8}T\d{9}Z-[0-9a-f]{8})\.(?:tar\.zst|json)$/;
const SHORT_KEY = /^([a-z0-9][a-z0-9_-]{0,31})\/(\d{8}T\d{9}Z-[0-9a-f]{8})$/;

export interface SnapshotName {
  readonly tenantId: string;
  readonly snapshotId: string;
}

/** The tenant and snapshot a key names; null when it is none of the accepted forms. */
export function parseSnapshotName(key: string): SnapshotName | null {
  const m = FULL_KEY.exec(key) ?? SHORT_KEY.exec(key);
  return m === null ? null : { tenantId: m[1] as string, snapshotId: m[2] as string };
}
