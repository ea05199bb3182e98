// The one throttle decision every router path follows (auth-throttle.ts): which requests it sees,
// and, for any interleaving of forged and genuine traffic, that it limits forged credentials without
// refusing a credential that authenticated, or anyone else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createAuthThrottle, credentialFingerprint, throttleSubject } from './auth-throttle.ts';

const tk = (tenant: string, n: number): string => `tk_${tenant}_${n.toString(16).padStart(32, '0')}`;

void test('health, readiness, metrics, webhooks, preflights and credential-less requests are never throttled nor counted', () => {
  const base = { method: 'GET', client: '203.0.113.7', credential: tk('acme', 1) };
  for (const pathname of ['/healthz', '/readyz', '/metrics', '/hooks/acme/telegram']) assert.equal(throttleSubject({ ...base, pathname }), null, pathname);
  assert.equal(throttleSubject({ ...base, method: 'OPTIONS', pathname: '/v1/models' }), null);
  assert.equal(throttleSubject({ ...base, credential: null, pathname: '/rpc' }), null);
  const a = throttleSubject({ ...base, pathname: '/rpc' });
  const b = throttleSubject({ ...base, pathname: '/rpc', credential: tk('other', 1) });
  const admin = throttleSubject({ ...base, pathname: '/v1/fleet', credential: `ak_${'0'.repeat(32)}` });
  assert.ok(a !== null && b !== null && admin !== null);
  assert.notEqual(a.key, b.key, 'one subject per claimed tenant');
  assert.notEqual(a.key, admin.key, 'admins apart from tenants');
  assert.notEqual(credentialFingerprint(tk('acme', 1)), credentialFingerprint(tk('acme', 2)));
});

void test('property: forged credentials pass at most `limit` times per window; a proven credential, other tenants and other addresses always pass', () => {
  const limit = 5;
  const step = fc.record({
    kind: fc.constantFrom('forged', 'genuine', 'bystander', 'elsewhere', 'tick'),
    n: fc.nat(1000),
  });
  fc.assert(
    fc.property(fc.array(step, { maxLength: 200 }), (steps) => {
      let t = 0;
      const throttle = createAuthThrottle({ limit, windowMs: 60_000, now: () => t });
      const subject = (client: string, credential: string) => throttleSubject({ method: 'POST', pathname: '/rpc', client, credential })!;
      const genuine = subject('203.0.113.7', tk('victim', 1));
      // The genuine token authenticates before the attack (a shard answered it).
      throttle.recordSuccess(genuine);
      let forgedForwarded = 0;
      let windowStart = 0;
      for (const s of steps) {
        if (s.kind === 'tick') {
          t += s.n * 100;
          if (t - windowStart >= 60_000) {
            windowStart = t;
            forgedForwarded = 0;
            throttle.recordSuccess(genuine); // the genuine client keeps using its token
          }
          continue;
        }
        if (s.kind === 'forged') {
          const f = subject('203.0.113.7', tk('victim', 1000 + s.n));
          if (throttle.blockedFor(f) === 0) {
            forgedForwarded += 1;
            throttle.recordFailure(f);
          }
          // Any 60 s span overlaps at most two of the throttle's windows.
          assert.ok(forgedForwarded <= 2 * limit, `forged requests forwarded in 60 s: ${forgedForwarded}`);
          continue;
        }
        const who = s.kind === 'genuine' ? genuine : s.kind === 'bystander' ? subject('203.0.113.7', tk('bystander', s.n)) : subject('198.51.100.1', tk('victim', s.n));
        assert.equal(throttle.blockedFor(who), 0, s.kind);
        if (s.kind === 'genuine') throttle.recordSuccess(who);
      }
    }),
  );
});
