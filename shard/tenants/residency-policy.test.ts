// pickEvictions: idle tenants go, then the least recently used over the bound; leases and pins protect.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { pickEvictions, type ResidentView } from './residency-policy.ts';

const view = (id: string, lastUsedMs: number, extra: Partial<ResidentView> = {}): ResidentView => ({ id, leases: 0, lastUsedMs, pinned: false, ...extra });

void test('over the bound, the least recently used go first; idle ones go whatever the bound', () => {
  const limits = { residentTenants: 2, idleSeconds: 60 };
  const now = 100_000;
  assert.deepEqual(pickEvictions([view('a', 99_000), view('b', 99_500), view('c', 99_900)], now, limits), [{ id: 'a', reason: 'evicted' }]);
  assert.deepEqual(pickEvictions([view('old', 30_000), view('b', 99_500)], now, limits), [{ id: 'old', reason: 'idle' }]);
  assert.deepEqual(pickEvictions([view('a', 99_000), view('b', 99_500)], now, limits), []);
});

void test('a tenant with a lease or a pin is never picked, even over the bound', () => {
  const limits = { residentTenants: 1, idleSeconds: 60 };
  const picked = pickEvictions([view('leased', 0, { leases: 1 }), view('pinned', 0, { pinned: true }), view('free', 99_000)], 100_000, limits);
  assert.deepEqual(picked, [{ id: 'free', reason: 'evicted' }]);
});

void test('property: after the evictions, at most the bound remain unless the rest are leased or pinned', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ leases: fc.nat(2), pinned: fc.boolean(), age: fc.nat(200_000) }), { maxLength: 40 }),
      fc.integer({ min: 1, max: 20 }),
      (rows, bound) => {
        const now = 1_000_000;
        const resident = rows.map((r, i) => view(`t${i}`, now - r.age, { leases: r.leases, pinned: r.pinned })).sort((x, y) => x.lastUsedMs - y.lastUsedMs);
        const picked = new Set(pickEvictions(resident, now, { residentTenants: bound, idleSeconds: 60 }).map((p) => p.id));
        const left = resident.filter((r) => !picked.has(r.id));
        for (const r of resident) if (picked.has(r.id)) assert.ok(r.leases === 0 && !r.pinned);
        const protectedCount = left.filter((r) => r.leases > 0 || r.pinned).length;
        assert.ok(left.length <= Math.max(bound, protectedCount));
        for (const r of left) if (r.leases === 0 && !r.pinned) assert.ok(r.lastUsedMs > now - 60_000);
      },
    ),
  );
});
