// `fleet recover-shard <id>`: a shard lost for good. Each tenant it owned comes back from its newest
// backup on its new placement owner, at an epoch above any the lost shard can hold, so that shard's
// start-up fencing tombstones its copies if it ever returns (shard/moves/epoch-fencing.ts).
import { AppError, toAppError } from '../../router/errors/app-error.ts';
import type { BlobStore } from '../../router/blob/blob-store.ts';
import { shardById, type Manifest } from '../../router/manifest/manifest-schema.ts';
import { manifestStore } from '../../router/manifest/manifest-store.ts';
import { initPlacement, placeableShards } from '../../router/placement/rendezvous.ts';
import { listSnapshots } from '../../shard/snapshot/snapshot-list.ts';
import { parseSnapshotManifest } from '../../shard/snapshot/snapshot-manifest.ts';
import { writeFenceRecord } from './fence-records.ts';
import { readManifestOrFail } from './rebalance.ts';
import { ShardAdmin } from './shard-admin.ts';

export interface RecoveredTenant {
  readonly tenant: string;
  readonly to: string;
  readonly epoch: number;
  readonly backup: string;
  /** When that backup was taken: everything the tenant did after it is lost. */
  readonly backupAt: string;
}

export interface RecoverReport {
  readonly shard: string;
  readonly manifestVersion: number;
  /** False when an import failed: nothing was committed; re-run the command. */
  readonly committed: boolean;
  readonly recovered: RecoveredTenant[];
  /** Named by the manifest (an override) but with no backup: nothing to restore. */
  readonly withoutBackup: string[];
  readonly failed: Array<{ tenant: string; to: string; error: string }>;
}

export interface RecoverOptions {
  readonly blob: BlobStore;
  readonly adminKey: string;
  readonly shardId: string;
  readonly log: (line: string) => void;
  /** How long the lost shard gets to answer before it counts as gone. */
  readonly probeTimeoutMs?: number;
}

/** Tenant ids that have at least one object under tenants/<id>/snapshots/. */
async function tenantsWithSnapshots(blob: BlobStore): Promise<string[]> {
  const ids = new Set<string>();
  for (const o of await blob.list('tenants/')) {
    const m = /^tenants\/([a-z0-9][a-z0-9_-]{0,31})\/snapshots\//.exec(o.key);
    if (m?.[1] !== undefined) ids.add(m[1]);
  }
  return [...ids].sort();
}

export async function recoverShard(opts: RecoverOptions): Promise<RecoverReport> {
  const manifests = manifestStore(opts.blob);
  const placement = await initPlacement();
  const manifest = await readManifestOrFail(manifests);
  const lost = shardById(manifest, opts.shardId);
  if (lost === undefined) throw new AppError('FLEET_SHARD_NOT_FOUND', { details: { id: opts.shardId } });
  const answered = await new ShardAdmin(lost.id, lost.url, opts.adminKey, opts.probeTimeoutMs ?? 3000).call('GET', '/v1/shard').then(
    () => true,
    () => false,
  );
  if (answered) throw new AppError('FLEET_SHARD_REACHABLE', { details: { id: lost.id, url: lost.url } });

  const survivors: Manifest = { ...manifest, shards: manifest.shards.filter((s) => s.id !== lost.id) };
  const placeable = placeableShards(survivors);
  if (placeable.length === 0) throw new AppError('VALIDATION_FAILED', { message: 'no other shard takes tenants: add one first (fleet add-shard)' });
  const admins = new Map(survivors.shards.map((s) => [s.id, new ShardAdmin(s.id, s.url, opts.adminKey)]));

  // The lost shard's tenants: those whose owner under the manifest is that shard. Only tenants with a
  // backup can be known at all (the shard that listed them is gone).
  const backedUp = (await tenantsWithSnapshots(opts.blob)).filter((t) => placement.ownerOf(t, manifest) === lost.id);
  const withoutBackup = Object.entries(manifest.overrides)
    .filter(([t, o]) => o.shard === lost.id && !backedUp.includes(t))
    .map(([t]) => t)
    .sort();
  // Above every epoch the lost shard can hold: a tenant's epoch grows by one per move, and every move
  // commits with a manifest write, so no tenant's epoch exceeds the manifest version.
  const overrideEpochs = Object.values(manifest.overrides).map((o) => o.epoch);
  const epoch = Math.max(manifest.version, ...overrideEpochs) + 1;

  const recovered: RecoveredTenant[] = [];
  const failed: RecoverReport['failed'] = [];
  for (const tenant of backedUp) {
    const to = placement.rendezvousOwner(tenant, placeable) as string;
    try {
      const snaps = await listSnapshots(opts.blob, tenant);
      const newest = snaps[snaps.length - 1];
      if (newest === undefined) {
        withoutBackup.push(tenant);
        continue;
      }
      const sidecar = await opts.blob.get(newest.manifestKey);
      const backupAt = sidecar === null ? newest.createdAt : parseSnapshotManifest(sidecar.body).createdAt;
      const admin = admins.get(to) as ShardAdmin;
      const here = await admin.getTenant(tenant);
      // Idempotent: a re-run after a crash finds the import already there at this epoch.
      if (here === null || here.epoch !== epoch) await admin.call('POST', '/v1/tenants/import', { from: newest.key, epoch });
      recovered.push({ tenant, to, epoch, backup: newest.key, backupAt });
      opts.log(`${tenant}: restored on ${to} from ${newest.key} (changes after ${backupAt} are lost)`);
    } catch (err) {
      const e = toAppError(err);
      failed.push({ tenant, to, error: `${e.code}: ${e.message}` });
      opts.log(`${tenant}: FAILED on ${to} (${e.code}: ${e.message})`);
    }
  }

  // All or nothing: with a failed import the manifest is left alone (the lost shard's tenants keep
  // answering 502 there) and a re-run retries; imports already made are frozen and found again.
  if (failed.length > 0) return { shard: lost.id, manifestVersion: manifest.version, committed: false, recovered, withoutBackup: withoutBackup.sort(), failed };
  // The fence record first: if we crash after it, the overrides it names are still kept by rebalance.
  await writeFenceRecord(opts.blob, {
    shard: lost.id,
    recoveredAt: new Date().toISOString(),
    tenants: Object.fromEntries(recovered.map((r) => [r.tenant, { owner: r.to, epoch: r.epoch }])),
  });
  // The commit, one compare-and-swap: the lost shard leaves the manifest and each restored tenant is
  // pinned to its new owner at the new epoch. Overrides naming the lost shard without a backup go too.
  const snap = await manifests.update((cur) => {
    if (cur === null) throw new AppError('ROUTER_MANIFEST_UNAVAILABLE');
    const overrides = Object.fromEntries(Object.entries(cur.overrides).filter(([, o]) => o.shard !== lost.id));
    for (const r of recovered) overrides[r.tenant] = { shard: r.to, epoch: r.epoch };
    return { version: cur.version, shards: cur.shards.filter((s) => s.id !== lost.id), overrides };
  });
  // Serve: each import is frozen until now.
  for (const r of recovered) {
    try {
      await (admins.get(r.to) as ShardAdmin).call('POST', `/v1/tenants/${r.tenant}/thaw`, {});
    } catch (err) {
      const e = toAppError(err);
      failed.push({ tenant: r.tenant, to: r.to, error: `thaw: ${e.code}: ${e.message}` });
    }
  }
  return { shard: lost.id, manifestVersion: snap.manifest.version, committed: true, recovered, withoutBackup: withoutBackup.sort(), failed };
}
