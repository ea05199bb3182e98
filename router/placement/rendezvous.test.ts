// Placement: the published vectors, and the HRW properties (determinism, minimal movement, weights).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { initPlacement, type WeightedShard } from './rendezvous.ts';
import { computePlacementVectors, type PlacementVectors } from './placement-vectors.ts';
import type { Manifest } from '../manifest/manifest-schema.ts';

const p = await initPlacement();
const SAMPLE = 20_000;
const tenants = Array.from({ length: SAMPLE }, (_, i) => `t${i.toString(36)}-${(i * 7919) % 1000}`);

const shardSet = fc
  .uniqueArray(fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,7}$/), { minLength: 2, maxLength: 8 })
  .map((ids) => ids.map((id) => ({ id, weight: 1 })));
const tenantId = fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,31}$/);

function manifestOf(shards: readonly WeightedShard[], overrides: Manifest['overrides'] = {}): Manifest {
  return { version: 1, shards: shards.map((s) => ({ id: s.id, url: 'http://127.0.0.1:1', weight: s.weight })), overrides };
}

void test('the implementation reproduces the committed test vectors bit for bit', () => {
  const committed = JSON.parse(readFileSync(new URL('./placement-vectors.json', import.meta.url), 'utf8')) as PlacementVectors;
  assert.deepEqual(computePlacementVectors(p), committed);
});

void test('initPlacement loads the hasher once', async () => {
  assert.equal(await initPlacement(), p);
});

void test('an empty shard list has no owner; an override wins over hashing', () => {
  assert.equal(p.ownerOf('acme', manifestOf([])), null);
  const m = manifestOf([{ id: 'a', weight: 1 }, { id: 'b', weight: 1 }]);
  const natural = p.ownerOf('acme', m);
  const other = natural === 'a' ? 'b' : 'a';
  assert.equal(p.ownerOf('acme', manifestOf(m.shards, { acme: { shard: other, epoch: 3 } })), other);
  // Inherited object keys are not overrides.
  assert.equal(p.ownerOf('constructor', m), p.rendezvousOwner('constructor', m.shards));
});

void test('u stays strictly inside (0,1): every score is finite and positive', () => {
  fc.assert(
    fc.property(tenantId, fc.stringMatching(/^[a-z0-9]{1,8}$/), (t, s) => {
      const sc = p.score(s, t, 1);
      assert.ok(Number.isFinite(sc) && sc > 0);
    }),
    { numRuns: 2000 },
  );
});

void test('placement is deterministic and independent of shard order', () => {
  fc.assert(
    fc.property(shardSet, tenantId, fc.nat(), (shards, t, rot) => {
      const rotated = [...shards.slice(rot % shards.length), ...shards.slice(0, rot % shards.length)].reverse();
      const owner = p.rendezvousOwner(t, shards);
      assert.equal(p.rendezvousOwner(t, shards), owner);
      assert.equal(p.rendezvousOwner(t, rotated), owner);
      assert.ok(shards.some((s) => s.id === owner));
    }),
    { numRuns: 500 },
  );
});

void test('removing a shard moves only the tenants it owned', () => {
  fc.assert(
    fc.property(shardSet, fc.nat(), fc.array(tenantId, { minLength: 1, maxLength: 200 }), (shards, k, ts) => {
      const gone = shards[k % shards.length] as WeightedShard;
      const rest = shards.filter((s) => s.id !== gone.id);
      for (const t of ts) {
        const before = p.rendezvousOwner(t, shards);
        const after = p.rendezvousOwner(t, rest);
        if (before !== gone.id) assert.equal(after, before, `${t} moved although ${before} stayed`);
        else assert.notEqual(after, gone.id);
      }
    }),
    { numRuns: 200 },
  );
});

// Sample size 20 000 tenants; with equal weights the moved fraction is Binomial(n, 1/(N+1)), whose
// standard deviation is at most 0.0036 here, so ±0.02 absolute is > 5 sigma.
const TOLERANCE = 0.02;

void test('adding a shard moves only tenants the new shard wins, about 1/(N+1) of them', () => {
  fc.assert(
    fc.property(shardSet, (shards) => {
      const added = { id: 'new-shard-zz', weight: 1 };
      let moved = 0;
      for (const t of tenants) {
        const before = p.rendezvousOwner(t, shards);
        const after = p.rendezvousOwner(t, [...shards, added]);
        if (after !== before) {
          assert.equal(after, added.id, `${t} moved to an old shard`);
          moved += 1;
        }
      }
      const expected = 1 / (shards.length + 1);
      assert.ok(Math.abs(moved / SAMPLE - expected) < TOLERANCE, `moved ${moved / SAMPLE}, expected ${expected}`);
    }),
    { numRuns: 12 },
  );
});

void test('load follows the weights (share within ±0.02 of weight/sum over 20 000 tenants)', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9]{0,5}$/), { minLength: 2, maxLength: 6 }),
      fc.array(fc.constantFrom(0.5, 1, 2, 3, 5), { minLength: 6, maxLength: 6 }),
      (ids, ws) => {
        const shards = ids.map((id, i) => ({ id, weight: ws[i] as number }));
        const total = shards.reduce((a, s) => a + s.weight, 0);
        const counts = new Map<string, number>();
        for (const t of tenants) {
          const o = p.rendezvousOwner(t, shards) as string;
          counts.set(o, (counts.get(o) ?? 0) + 1);
        }
        for (const s of shards) {
          const share = (counts.get(s.id) ?? 0) / SAMPLE;
          assert.ok(Math.abs(share - s.weight / total) < TOLERANCE, `${s.id} w=${s.weight}: share ${share} vs ${s.weight / total}`);
        }
      },
    ),
    { numRuns: 12 },
  );
});
