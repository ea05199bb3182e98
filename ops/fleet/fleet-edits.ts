// Adding and removing shards: manifest edits that move no tenant until its own move commits.
import { AppError } from '../../router/errors/app-error.ts';
import type { BlobStore } from '../../router/blob/blob-store.ts';
import { SHARD_ID_PATTERN, type Manifest } from '../../router/manifest/manifest-schema.ts';
import { manifestStore } from '../../router/manifest/manifest-store.ts';
import { initPlacement, placeableShards } from '../../router/placement/rendezvous.ts';
import { pinHoldings, planMoves, type Holdings } from './rebalance-plan.ts';
import { holdingsOf, readManifestOrFail, shardAdmins } from './rebalance.ts';
import { ShardAdmin } from './shard-admin.ts';

export interface FleetEditResult {
  manifestVersion: number;
  pinned: number;
  toMove: number;
}

/** Adds a shard: checks it answers as that id, pins the tenants it would win, CAS the manifest. */
export async function addShard(blob: BlobStore, adminKey: string, shard: { id: string; url: string; weight: number }): Promise<FleetEditResult> {
  if (!SHARD_ID_PATTERN.test(shard.id)) throw new AppError('VALIDATION_FAILED', { message: 'shard ids match ^[a-z0-9][a-z0-9_-]{0,31}$' });
  const url = shard.url.replace(/\/+$/, '');
  const probe = await new ShardAdmin(shard.id, url, adminKey, 10_000).call<{ id: string }>('GET', '/v1/shard').catch((err: unknown) => {
    throw new AppError('ROUTER_UPSTREAM_DOWN', { message: `the new shard at ${url} did not answer GET /v1/shard with this admin key`, cause: err });
  });
  if (probe.id !== shard.id) throw new AppError('VALIDATION_FAILED', { message: `the shard at ${url} says its id is ${probe.id}, not ${shard.id}` });
  const manifests = manifestStore(blob);
  const placement = await initPlacement();
  const current = await readManifestOrFail(manifests);
  if (current.shards.some((s) => s.id === shard.id)) throw new AppError('FLEET_SHARD_EXISTS', { details: { id: shard.id } });
  const sameUrl = current.shards.find((s) => s.url === url);
  if (sameUrl !== undefined) throw new AppError('FLEET_SHARD_URL_TAKEN', { details: { url, shard: sameUrl.id } });
  const holdings = await holdingsOf(shardAdmins(current, adminKey));
  // A shard that joins with tenants the fleet already serves would make them two owners.
  const joining = await new ShardAdmin(shard.id, url, adminKey, 10_000).listTenants();
  const held = new Map([...holdings].flatMap(([owner, ts]) => ts.map((t) => [t.id, owner] as const)));
  const twice = joining.filter((t) => held.has(t.id));
  if (twice.length > 0) {
    throw new AppError('VALIDATION_FAILED', {
      message: `the shard at ${url} holds tenants the fleet already serves elsewhere (${twice.slice(0, 5).map((t) => `${t.id} on ${held.get(t.id)}`).join(', ')}); start it with an empty --data`,
      details: { tenants: twice.length },
    });
  }
  let pinned = 0;
  const snap = await manifests.update((cur) => {
    if (cur === null) throw new AppError('ROUTER_MANIFEST_UNAVAILABLE');
    if (cur.shards.some((s) => s.id === shard.id)) throw new AppError('FLEET_SHARD_EXISTS', { details: { id: shard.id } });
    const next = { version: cur.version, shards: [...cur.shards.map((s) => ({ ...s })), { id: shard.id, url, weight: shard.weight }], overrides: { ...cur.overrides } };
    const nextPlaceable = placeableShards(next as Manifest);
    const pinnedInput = pinHoldings(next, holdings as Holdings, (t) => placement.rendezvousOwner(t, nextPlaceable));
    pinned = Object.keys(pinnedInput.overrides ?? {}).length - Object.keys(cur.overrides).length;
    return pinnedInput;
  });
  return { manifestVersion: snap.manifest.version, pinned, toMove: planMoves(snap.manifest, holdings as Holdings, placement).length };
}

/** Marks a shard draining (placement skips it) and pins its tenants to it until they move. */
export async function drainShard(blob: BlobStore, adminKey: string, shardId: string): Promise<FleetEditResult> {
  const manifests = manifestStore(blob);
  const placement = await initPlacement();
  const current = await readManifestOrFail(manifests);
  if (!current.shards.some((s) => s.id === shardId)) throw new AppError('FLEET_SHARD_NOT_FOUND', { details: { id: shardId } });
  if (current.shards.filter((s) => s.draining !== true && s.id !== shardId).length === 0) {
    throw new AppError('VALIDATION_FAILED', { message: 'cannot remove the last shard that takes tenants' });
  }
  const holdings = await holdingsOf(shardAdmins(current, adminKey));
  let pinned = 0;
  const snap = await manifests.update((cur) => {
    if (cur === null) throw new AppError('ROUTER_MANIFEST_UNAVAILABLE');
    const next = { version: cur.version, shards: cur.shards.map((s) => (s.id === shardId ? { ...s, draining: true } : { ...s })), overrides: { ...cur.overrides } };
    const nextPlaceable = placeableShards(next as Manifest);
    const pinnedInput = pinHoldings(next, holdings as Holdings, (t) => placement.rendezvousOwner(t, nextPlaceable));
    pinned = Object.keys(pinnedInput.overrides ?? {}).length - Object.keys(cur.overrides).length;
    return pinnedInput;
  });
  return { manifestVersion: snap.manifest.version, pinned, toMove: planMoves(snap.manifest, holdings as Holdings, placement).length };
}
