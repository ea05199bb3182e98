// The published placement test vectors: fixed inputs, and the outputs this implementation gives for them.
import type { Manifest } from '../manifest/manifest-schema.ts';
import { PLACEMENT_ALGORITHM, type Placement } from './rendezvous.ts';

export interface PlacementVectors {
  algorithm: string;
  hashes: { shard: string; tenant: string; xxh64: string; score_weight1: number }[];
  cases: { manifest: Manifest; owners: Record<string, string | null> }[];
}

const TENANTS = ['acme', 'a', '0', 'demo', 'globex', 'initech', 'tenant_with_underscore', 'x-1', 'z9999999999999999999999999999999', 'umbrella'];

const MANIFESTS: Manifest[] = [
  { version: 1, shards: [{ id: 's1', url: 'http://127.0.0.1:18801', weight: 1 }], overrides: {} },
  {
    version: 2,
    shards: [
      { id: 's1', url: 'http://127.0.0.1:18801', weight: 1 },
      { id: 's2', url: 'http://127.0.0.1:18802', weight: 1 },
      { id: 's3', url: 'http://127.0.0.1:18803', weight: 1 },
    ],
    overrides: {},
  },
  {
    version: 3,
    shards: [
      { id: 'eu-1', url: 'http://10.0.0.11:18800', weight: 1 },
      { id: 'eu-2', url: 'http://10.0.0.12:18800', weight: 2 },
      { id: 'us-1', url: 'http://10.0.0.13:18800', weight: 0.5 },
      { id: 'us-2', url: 'http://10.0.0.14:18800', weight: 3 },
    ],
    overrides: { acme: { shard: 'us-1', epoch: 4 } },
  },
  {
    version: 4,
    shards: [
      { id: 's1', url: 'http://127.0.0.1:18801', weight: 1 },
      { id: 's2', url: 'http://127.0.0.1:18802', weight: 1, draining: true },
      { id: 's3', url: 'http://127.0.0.1:18803', weight: 1 },
    ],
    overrides: { demo: { shard: 's2', epoch: 2 } },
  },
];

export function computePlacementVectors(p: Placement): PlacementVectors {
  const hashes: PlacementVectors['hashes'] = [];
  for (const shard of ['s1', 's2', 'eu-2']) {
    for (const tenant of TENANTS.slice(0, 5)) {
      hashes.push({ shard, tenant, xxh64: p.hash(shard, tenant).toString(16).padStart(16, '0'), score_weight1: p.score(shard, tenant, 1) });
    }
  }
  const cases = MANIFESTS.map((manifest) => {
    const owners: Record<string, string | null> = {};
    for (const t of TENANTS) owners[t] = p.ownerOf(t, manifest);
    return { manifest, owners };
  });
  return { algorithm: PLACEMENT_ALGORITHM, hashes, cases };
}
