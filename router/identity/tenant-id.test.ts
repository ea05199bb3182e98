// Token and id formats: round trips and refusals (DESIGN §2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatTenantToken, isTenantId, mintTenantToken, parseTenantToken, bearerOf, mintAdminKey, isAdminKeyShape } from './tenant-id.ts';

const idArb = fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,31}$/);
const secretArb = fc.stringMatching(/^[0-9a-f]{32}$/);

test('token format/parse round trip for every valid id and secret (ids may contain _)', () => {
  fc.assert(
    fc.property(idArb, secretArb, (id, secret) => {
      const parsed = parseTenantToken(formatTenantToken(id, secret));
      assert.deepEqual(parsed, { tenantId: id, secret });
    }),
    { numRuns: 2000 },
  );
});

test('minted tokens parse back to their tenant and carry 128 random bits', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const tok = mintTenantToken('a_b_c');
    const p = parseTenantToken(tok);
    assert.equal(p?.tenantId, 'a_b_c');
    assert.match(p?.secret ?? '', /^[0-9a-f]{32}$/);
    seen.add(tok);
  }
  assert.equal(seen.size, 200);
});

test('malformed tokens do not parse', () => {
  for (const bad of ['', 'tk_', 'tk_acme', 'tk_acme_123', 'tk_ACME_' + 'a'.repeat(32), 'tk_acme_' + 'A'.repeat(32), 'xk_acme_' + 'a'.repeat(32), 'tk__' + 'a'.repeat(32), 'tk_acme_' + 'a'.repeat(33), ' tk_acme_' + 'a'.repeat(32), 'tk_' + 'a'.repeat(33) + '_' + 'a'.repeat(32)]) {
    assert.equal(parseTenantToken(bad), null, bad);
  }
  fc.assert(
    fc.property(fc.string(), (s) => {
      const p = parseTenantToken(s);
      if (p !== null) assert.equal(formatTenantToken(p.tenantId, p.secret), s);
    }),
    { numRuns: 2000 },
  );
});

test('tenant id rule', () => {
  for (const ok of ['a', '0', 'acme', 'a_b-c', 'x'.repeat(32)]) assert.ok(isTenantId(ok), ok);
  for (const bad of ['', '_a', '-a', 'A', 'a'.repeat(33), '../x', 'a/b', 'a\0', 'é', 'a.b']) assert.ok(!isTenantId(bad), bad);
});

test('bearer parsing and admin key shape', () => {
  assert.equal(bearerOf('Bearer abc'), 'abc');
  assert.equal(bearerOf('bearer   abc  '), 'abc');
  assert.equal(bearerOf('Basic abc'), null);
  assert.equal(bearerOf(undefined), null);
  assert.ok(isAdminKeyShape(mintAdminKey()));
  assert.ok(!isAdminKeyShape('ak_123'));
});
