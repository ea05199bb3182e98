// The shard's control plane: tenant lifecycle, tokens, concurrency, ownership gate (DESIGN §2, §5, §8).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTenant, rpcCall, startTestShard } from './helpers/shard-fixture.ts';
import { verifyAuditText } from '../shard/audit/audit-verify.ts';

test('create, get, list with cursor pagination, patch, delete (data wiped, audit kept)', async (t) => {
  const shard = await startTestShard(t);
  const created = await shard.admin('/v1/tenants', { body: { id: 'acme_co', displayName: 'Acme', quota: { requestsPerMinute: 5 } } });
  assert.equal(created.status, 201);
  const body = (await created.json()) as Record<string, unknown>;
  assert.match(String(body['token']), /^tk_acme_co_[0-9a-f]{32}$/);
  assert.equal(body['shard'], 's1');
  assert.equal(body['epoch'], 1);
  assert.ok(existsSync(join(shard.dataDir, 'tenants', 'acme_co', 'tenant.json')));
  assert.ok(!readFileSync(join(shard.dataDir, 'tenants', 'acme_co', 'tenant.json'), 'utf8').includes(String(body['token'])));

  const got = (await (await shard.admin('/v1/tenants/acme_co')).json()) as Record<string, unknown>;
  assert.equal(got['displayName'], 'Acme');
  assert.equal(got['shard'], 's1');
  assert.deepEqual(got['quota'], { requestsPerMinute: 5 });
  assert.equal(got['token'], undefined);

  for (const id of ['b1', 'b2', 'b3', 'b4']) await createTenant(shard, id);
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const q: string = cursor === null ? '?limit=2' : `?limit=2&cursor=${cursor}`;
    const page = (await (await shard.admin(`/v1/tenants${q}`)).json()) as { tenants: Array<{ id: string }>; nextCursor: string | null };
    assert.ok(page.tenants.length <= 2);
    seen.push(...page.tenants.map((x) => x.id));
    cursor = page.nextCursor;
  } while (cursor !== null);
  assert.deepEqual(seen, ['acme_co', 'b1', 'b2', 'b3', 'b4']);

  const patched = await shard.admin('/v1/tenants/acme_co', { method: 'PATCH', body: { displayName: 'Acme Inc', quota: { requestsPerMinute: null, tokensPerDay: 1000 } } });
  assert.equal(patched.status, 200);
  assert.deepEqual(((await patched.json()) as { quota: unknown }).quota, { tokensPerDay: 1000 });

  const noConfirm = await shard.admin('/v1/tenants/acme_co', { method: 'DELETE' });
  assert.equal(noConfirm.status, 400);
  assert.equal(((await noConfirm.json()) as { error: { code: string } }).error.code, 'CONFIRM_REQUIRED');
  const del = await shard.admin('/v1/tenants/acme_co?confirm=true', { method: 'DELETE' });
  assert.equal(del.status, 200);
  assert.ok(!existsSync(join(shard.dataDir, 'tenants', 'acme_co')));
  assert.equal((await shard.admin('/v1/tenants/acme_co')).status, 404);
  assert.equal((await shard.rpc(String(body['token']), { jsonrpc: '2.0', id: 1, method: 'health' })).status, 401, 'the deleted tenant token is dead');
  const audit = readFileSync(join(shard.dataDir, 'audit.log'), 'utf8');
  assert.ok(audit.includes('"action":"tenant.delete"'));
  assert.ok(audit.includes('"tenant":"acme_co"'));
  assert.equal(verifyAuditText(audit).ok, true);
});

test('bad ids answer 400 with the rule; a taken id answers 409; bad bodies are named', async (t) => {
  const shard = await startTestShard(t);
  for (const id of ['Acme', '../x', '', '-a', 'a'.repeat(33), 'a/b']) {
    const res = await shard.admin('/v1/tenants', { body: { id } });
    assert.equal(res.status, 400, id);
    const err = ((await res.json()) as { error: { code: string; details: { rule?: string } } }).error;
    assert.equal(err.code, 'SHARD_TENANT_ID_INVALID');
    assert.equal(err.details.rule, '^[a-z0-9][a-z0-9_-]{0,31}$');
  }
  await createTenant(shard, 'taken');
  const dup = await shard.admin('/v1/tenants', { body: { id: 'taken' } });
  assert.equal(dup.status, 409);
  assert.equal(((await dup.json()) as { error: { code: string } }).error.code, 'SHARD_TENANT_EXISTS');
  const badQuota = await shard.admin('/v1/tenants', { body: { id: 'q', quota: { tokensPerDay: -1 } } });
  assert.equal(badQuota.status, 400);
  assert.match(((await badQuota.json()) as { error: { message: string } }).error.message, /quota\.tokensPerDay/);
  const notJson = await fetch(`${shard.url}/v1/tenants`, { method: 'POST', headers: { authorization: `Bearer ${shard.adminKey}`, 'content-type': 'application/json' }, body: '{nope' });
  assert.equal(notJson.status, 400);
  assert.equal(((await notJson.json()) as { error: { code: string } }).error.code, 'BAD_REQUEST');
});

test('100 concurrent creates of distinct ids all succeed; 20 of one id give exactly one 201', async (t) => {
  const shard = await startTestShard(t);
  const ids = Array.from({ length: 100 }, (_, i) => `c${i}`);
  const res = await Promise.all(ids.map((id) => shard.admin('/v1/tenants', { body: { id } })));
  assert.deepEqual(res.map((r) => r.status), ids.map(() => 201));
  const same = await Promise.all(Array.from({ length: 20 }, () => shard.admin('/v1/tenants', { body: { id: 'contested' } })));
  const statuses = same.map((r) => r.status).sort();
  assert.equal(statuses.filter((s) => s === 201).length, 1);
  assert.equal(statuses.filter((s) => s === 409).length, 19);
  const list = (await (await shard.admin('/v1/tenants?limit=500')).json()) as { tenants: unknown[] };
  assert.equal(list.tenants.length, 101);
});

test('unknown tenant and wrong secret get the identical 401 body; admin and tenant callers are told apart', async (t) => {
  const shard = await startTestShard(t);
  const { token } = await createTenant(shard, 'real');
  const wrong = await shard.rpc(`tk_real_${'0'.repeat(32)}`, { jsonrpc: '2.0', id: 1, method: 'health' });
  const unknown = await shard.rpc(`tk_ghost_${'0'.repeat(32)}`, { jsonrpc: '2.0', id: 1, method: 'health' });
  assert.equal(wrong.status, 401);
  assert.equal(unknown.status, 401);
  assert.equal(await wrong.text(), await unknown.text());
  // A tenant token on the control plane is forbidden; an admin key on the tenant API too.
  const cp = await fetch(`${shard.url}/v1/tenants`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(cp.status, 403);
  const adminOnRpc = await shard.rpc(shard.adminKey, { jsonrpc: '2.0', id: 1, method: 'health' });
  assert.equal(adminOnRpc.status, 403);
  const wrongAdmin = await fetch(`${shard.url}/v1/tenants`, { headers: { authorization: `Bearer ak_${'1'.repeat(32)}` } });
  assert.equal(wrongAdmin.status, 401);
  const none = await fetch(`${shard.url}/v1/tenants`);
  assert.equal(none.status, 401);
  assert.equal(((await none.json()) as { error: { code: string } }).error.code, 'AUTH_REQUIRED');
  const metrics = await (await fetch(`${shard.url}/metrics`)).text();
  assert.match(metrics, /openclawmu_auth_failures_total\{kind="invalid"\} 2/);
});

test('rotation: the new token works at once; the old one stops at once, or after a grace that is audited', async (t) => {
  const shard = await startTestShard(t);
  const { token: t1 } = await createTenant(shard, 'rot');
  const r1 = (await (await shard.admin('/v1/tenants/rot/token', { body: {} })).json()) as { token: string };
  assert.equal((await rpcCall(shard, r1.token, 'health')).error, undefined);
  assert.equal((await shard.rpc(t1, { jsonrpc: '2.0', id: 1, method: 'health' })).status, 401);

  const r2 = (await (await shard.admin('/v1/tenants/rot/token', { body: { graceSeconds: 60 } })).json()) as { token: string; graceUntil: string };
  assert.ok(r2.graceUntil !== null);
  assert.equal((await rpcCall(shard, r2.token, 'health')).error, undefined);
  assert.equal((await rpcCall(shard, r1.token, 'health')).error, undefined, 'old token works during grace');
  const audit = readFileSync(join(shard.dataDir, 'audit.log'), 'utf8');
  assert.ok(audit.includes('"action":"auth.token.grace_used"'));
  // Self-rotation over RPC, no grace: the previous one stops at once.
  const self = (await rpcCall(shard, r2.token, 'tenants.rotate')).result as { token: string };
  assert.equal((await shard.rpc(r2.token, { jsonrpc: '2.0', id: 1, method: 'health' })).status, 401);
  assert.equal((await rpcCall(shard, self.token, 'health')).error, undefined);
  // Tokens never appear in logs or the audit log.
  const logs = shard.logs.join('');
  const auditNow = readFileSync(join(shard.dataDir, 'audit.log'), 'utf8');
  for (const tok of [t1, r1.token, r2.token, self.token]) {
    assert.ok(!logs.includes(tok), 'token in logs');
    assert.ok(!auditNow.includes(tok), 'token in audit');
    assert.ok(!logs.includes(tok.slice(-32)), 'secret in logs');
  }
});

test('disabled tenants are refused with 403', async (t) => {
  const shard = await startTestShard(t);
  const { token } = await createTenant(shard, 'dis');
  await shard.admin('/v1/tenants/dis', { method: 'PATCH', body: { disabled: true } });
  const res = await shard.rpc(token, { jsonrpc: '2.0', id: 1, method: 'health' });
  assert.equal(res.status, 403);
  assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'AUTH_TENANT_DISABLED');
});

test('ownership gate: frozen → 503 with Retry-After and x-openclawmu-frozen; moved → 421 with owner and epoch; nothing executed', async (t) => {
  const shard = await startTestShard(t);
  const { token } = await createTenant(shard, 'mover');
  const other = await createTenant(shard, 'stayer');
  const frozen = await shard.admin('/v1/tenants/mover/freeze', { body: {} });
  assert.equal(frozen.status, 200);
  const r = await shard.rpc(token, { jsonrpc: '2.0', id: 1, method: 'config.set', params: { path: 'timezone', value: 'UTC' } });
  assert.equal(r.status, 503);
  assert.equal(r.headers.get('x-openclawmu-frozen'), '1');
  assert.equal(r.headers.get('retry-after'), '1');
  assert.equal((await rpcCall(shard, other.token, 'health')).error, undefined, 'other tenants are untouched');
  // Moving needs a later epoch.
  const stale = await shard.admin('/v1/tenants/mover/moved', { body: { owner: 's2', epoch: 1 } });
  assert.equal(stale.status, 409);
  const moved = await shard.admin('/v1/tenants/mover/moved', { body: { owner: 's2', epoch: 2 } });
  assert.equal(moved.status, 200);
  const after = await shard.rpc(token, { jsonrpc: '2.0', id: 1, method: 'config.set', params: { path: 'timezone', value: 'UTC' } });
  assert.equal(after.status, 421);
  assert.equal(after.headers.get('x-openclawmu-owner'), 's2');
  assert.equal(after.headers.get('x-openclawmu-epoch'), '2');
  assert.equal((await shard.admin('/v1/tenants/mover')).status, 421);
  assert.ok(!existsSync(join(shard.dataDir, 'tenants', 'mover')));
  assert.ok(existsSync(join(shard.dataDir, 'tombstones', 'mover.json')));
});

test('thaw after freeze serves again; the frozen state survives a restart', async (t) => {
  const first = await startTestShard(t);
  const { token } = await createTenant(first, 'ice');
  await first.admin('/v1/tenants/ice/freeze', { body: {} });
  await first.close();
  const second = await startTestShard(t, { dataDir: first.dataDir, adminKey: first.adminKey });
  assert.equal((await second.rpc(token, { jsonrpc: '2.0', id: 1, method: 'health' })).status, 503);
  assert.equal((await second.admin('/v1/tenants/ice/thaw', { body: {} })).status, 200);
  assert.equal((await rpcCall(second, token, 'health')).error, undefined);
});

test('health, readiness, metrics: no tenant id in any label', async (t) => {
  const shard = await startTestShard(t);
  const ids = ['canaryone', 'canarytwo'];
  for (const id of ids) {
    const { token } = await createTenant(shard, id);
    await rpcCall(shard, token, 'tenants.get');
  }
  assert.deepEqual(await (await fetch(`${shard.url}/healthz`)).json(), { status: 'ok', shard: 's1' });
  assert.equal(((await (await fetch(`${shard.url}/readyz`)).json()) as { ready: boolean }).ready, true);
  const text = await (await fetch(`${shard.url}/metrics`)).text();
  assert.match(text, /openclawmu_tenants_owned 2/);
  assert.match(text, /openclawmu_http_request_duration_seconds_bucket\{le="0.001",method="POST",route="\/rpc",status="200"\}/);
  for (const id of ids) assert.ok(!text.includes(id), `metrics mention ${id}`);
});
