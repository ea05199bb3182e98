// Pure planning of a rebalance: which tenants move where, and the manifest edits around it.
import type { Manifest, ManifestInput } from '../../router/manifest/manifest-schema.ts';
import { placeableShards, type Placement } from '../../router/placement/rendezvous.ts';

export interface PlannedMove {
  tenant: string;
  from: string;
  to: string;
}

/** Tenants held per shard, as listed from each shard. */
export type Holdings = ReadonlyMap<string, ReadonlyArray<{ id: string; epoch: number }>>;

/** Every tenant whose placement owner (overrides ignored) differs from the shard that holds it. */
export function planMoves(manifest: Manifest, holdings: Holdings, placement: Placement): PlannedMove[] {
  const shards = placeableShards(manifest);
  const moves: PlannedMove[] = [];
  for (const [shardId, tenants] of holdings) {
    for (const t of tenants) {
      const target = placement.rendezvousOwner(t.id, shards);
      if (target !== null && target !== shardId) moves.push({ tenant: t.id, from: shardId, to: target });
    }
  }
  return moves.sort((a, b) => a.tenant.localeCompare(b.tenant));
}

/**
 * Pins every held tenant whose owner would change under `next` to the shard that holds it (at its
 * current epoch), so that editing the shard list moves no tenant until its move commits.
 */
export function pinHoldings(next: ManifestInput & { overrides?: Record<string, { shard: string; epoch: number }> }, holdings: Holdings, ownerUnder: (tenant: string) => string | null): ManifestInput {
  const overrides = { ...(next.overrides ?? {}) };
  for (const [shardId, tenants] of holdings) {
    for (const t of tenants) {
      if (Object.hasOwn(overrides, t.id)) continue;
      if (ownerUnder(t.id) !== shardId) overrides[t.id] = { shard: shardId, epoch: t.epoch };
    }
  }
  return { ...next, overrides };
}

/** Drops overrides that now agree with placement (except those named in `keep`). */
export function dropAgreeingOverrides(manifest: Manifest, placement: Placement, keep: ReadonlySet<string>): ManifestInput {
  const shards = placeableShards(manifest);
  const overrides: Record<string, { shard: string; epoch: number }> = {};
  for (const [tenant, o] of Object.entries(manifest.overrides)) {
    if (keep.has(tenant) || placement.rendezvousOwner(tenant, shards) !== o.shard) overrides[tenant] = { ...o };
  }
  return { version: manifest.version, shards: manifest.shards.map((s) => ({ ...s })), overrides };
}
