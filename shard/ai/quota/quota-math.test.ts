// Quota arithmetic: windows, Retry-After, and (property) admitted work never exceeds a limit.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { checkAdmission, windowsAt, type Consumption } from './quota-math.ts';

const ZERO: Consumption = { tokensDay: 0, tokensMonth: 0, usdDay: 0, usdMonth: 0 };

void test('UTC windows: day and month boundaries, including December → January', () => {
  const w = windowsAt(Date.UTC(2026, 11, 31, 23, 59, 59));
  assert.equal(w.dayEnd, Date.UTC(2027, 0, 1));
  assert.equal(w.monthStart, Date.UTC(2026, 11, 1));
  assert.equal(w.monthEnd, Date.UTC(2027, 0, 1));
});

void test('property: admitting reservations in any order never takes a window past its limit', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 5000 }), fc.array(fc.integer({ min: 1, max: 400 }), { maxLength: 80 }), (limit, wants) => {
      const now = Date.UTC(2026, 5, 15, 10);
      let used = 0;
      for (const want of wants) {
        const r = checkAdmission({ tokensPerDay: limit }, { ...ZERO, tokensDay: used, tokensMonth: used }, { tokens: want, usd: 0, newSession: false }, [], 0, now);
        if (r === null) used += want;
        else {
          assert.equal(r.code, 'QUOTA_TOKENS_DAY');
          assert.ok(used + want > limit);
          assert.equal(r.retryAfterSeconds, 14 * 3600);
        }
      }
      assert.ok(used <= limit);
    }),
  );
});

void test('property: requests per minute admits exactly N in any 60 s window; Retry-After frees a slot', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 10 }), fc.array(fc.integer({ min: 0, max: 30_000 }), { minLength: 1, maxLength: 60 }), (n, gaps) => {
      let now = Date.UTC(2026, 0, 1);
      const admitted: number[] = [];
      for (const g of gaps) {
        now += g;
        const recent = admitted.filter((t) => t > now - 60_000);
        const r = checkAdmission({ requestsPerMinute: n }, ZERO, { tokens: 0, usd: 0, newSession: false }, recent, 0, now);
        if (r === null) admitted.push(now);
        else {
          assert.equal(recent.length, n);
          // after Retry-After seconds one slot is free again
          const later = now + r.retryAfterSeconds * 1000;
          const after = admitted.filter((t) => t > later - 60_000);
          assert.ok(after.length < n);
        }
      }
      for (const t of admitted) assert.ok(admitted.filter((u) => u > t - 60_000 && u <= t).length <= n);
    }),
  );
});

void test('concurrent sessions: a running session may run again; a new one over the limit is refused', () => {
  const now = Date.now();
  assert.equal(checkAdmission({ concurrentSessions: 1 }, ZERO, { tokens: 0, usd: 0, newSession: false }, [], 1, now), null);
  assert.equal(checkAdmission({ concurrentSessions: 1 }, ZERO, { tokens: 0, usd: 0, newSession: true }, [], 1, now)?.code, 'QUOTA_CONCURRENT_SESSIONS');
});
