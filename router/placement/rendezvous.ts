// Weighted rendezvous (HRW) placement over xxh64: owner(tenant, manifest), a pure function (docs/placement.md).
import xxhash from 'xxhash-wasm';
import type { Manifest } from '../manifest/manifest-schema.ts';

/** The name of this exact algorithm; bump it if anything below changes (owners would move). */
export const PLACEMENT_ALGORITHM = 'hrw-xxh64-v1';

export interface WeightedShard {
  readonly id: string;
  readonly weight: number;
}

export interface Placement {
  /** xxh64(seed 0) of the UTF-8 bytes `<shardId>:<tenantId>`. */
  hash(shardId: string, tenantId: string): bigint;
  /** -weight / ln(u), u = ((hash >> 12) + 0.5) / 2^52, so u lies strictly inside (0, 1). */
  score(shardId: string, tenantId: string, weight: number): number;
  /** The highest-scoring shard (ties: the smaller shard id); null when there are no shards. */
  rendezvousOwner(tenantId: string, shards: readonly WeightedShard[]): string | null;
  /** `manifest.overrides[t]?.shard ?? rendezvousOwner(t, shards that are not draining)`. */
  ownerOf(tenantId: string, manifest: Manifest): string | null;
}

const TWO_POW_52 = 4503599627370496;

let loading: Promise<Placement> | undefined;

/** Loads the wasm hasher once per process; every later call returns the same instance. */
export function initPlacement(): Promise<Placement> {
  loading ??= xxhash().then((api) => makePlacement(api.h64));
  return loading;
}

function makePlacement(h64: (input: string, seed?: bigint) => bigint): Placement {
  const hash = (shardId: string, tenantId: string): bigint => h64(`${shardId}:${tenantId}`, 0n);
  const score = (shardId: string, tenantId: string, weight: number): number => {
    const u = (Number(hash(shardId, tenantId) >> 12n) + 0.5) / TWO_POW_52;
    return -weight / Math.log(u);
  };
  const rendezvousOwner = (tenantId: string, shards: readonly WeightedShard[]): string | null => {
    let best: string | null = null;
    let bestScore = -Infinity;
    for (const s of shards) {
      const sc = score(s.id, tenantId, s.weight);
      if (sc > bestScore || (sc === bestScore && best !== null && s.id < best)) {
        best = s.id;
        bestScore = sc;
      }
    }
    return best;
  };
  const ownerOf = (tenantId: string, manifest: Manifest): string | null => {
    const o = Object.hasOwn(manifest.overrides, tenantId) ? manifest.overrides[tenantId] : undefined;
    return o?.shard ?? rendezvousOwner(tenantId, placeableShards(manifest));
  };
  return { hash, score, rendezvousOwner, ownerOf };
}

/** The shards placement may choose: every shard not marked `draining` (a shard being removed). */
export function placeableShards(manifest: Manifest): readonly WeightedShard[] {
  return manifest.shards.some((s) => s.draining === true) ? manifest.shards.filter((s) => s.draining !== true) : manifest.shards;
}
