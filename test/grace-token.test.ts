// Issue 11 item 4: a token inside its rotation grace period reads and works, but cannot rotate the
// token again (locking the owner out), delete the tenant or change credentials, over any transport.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { WebSocket } from 'ws';
import { createTenant, rpcCall, startTestShard, type TestShard } from './helpers/shard-fixture.ts';

async function withGrace(shard: TestShard, id: string): Promise<{ old: string; current: string }> {
  const { token: old } = await createTenant(shard, id);
  const res = await shard.admin(`/v1/tenants/${id}/token`, { body: { graceSeconds: 600 } });
  assert.equal(res.status, 200);
  return { old, current: ((await res.json()) as { token: string }).token };
}

async function wsCall(t: TestContext, shard: TestShard, token: string, method: string, params: unknown): Promise<{ error?: { data?: { code: string } }; result?: unknown }> {
  const ws = new WebSocket(`${shard.url.replace('http', 'ws')}/ws`, ['openclawmu.v1', token]);
  t.after(() => ws.close());
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const reply = new Promise<string>((resolve) => ws.once('message', (d) => resolve(d.toString())));
  ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }));
  return JSON.parse(await reply) as { error?: { data?: { code: string } } };
}

test('issue 11 item 4: a grace token cannot rotate again or delete the tenant (HTTP /rpc and /ws); the owner keeps working', async (t) => {
  const shard = await startTestShard(t);
  const { old, current } = await withGrace(shard, 'grace1');
  assert.equal((await rpcCall(shard, old, 'tenants.get')).error, undefined, 'the grace token still reads');
  assert.equal((await rpcCall(shard, old, 'config.set', { path: 'timezone', value: 'UTC' })).error, undefined, 'and still works');
  for (const [method, params] of [['tenants.rotate', {}], ['tenants.rotate', { graceSeconds: 0 }], ['tenants.delete', { confirm: true }]] as const) {
    assert.equal((await rpcCall(shard, old, method, params)).error?.data?.code, 'AUTH_GRACE_TOKEN_LIMITED', `${method} over /rpc`);
    assert.equal((await wsCall(t, shard, old, method, params)).error?.data?.code, 'AUTH_GRACE_TOKEN_LIMITED', `${method} over /ws`);
  }
  const after = await rpcCall(shard, current, 'tenants.get');
  assert.equal(after.error, undefined, 'the current token still works: the owner was not locked out');
  assert.equal((await shard.admin('/v1/tenants/grace1')).status, 200, 'the tenant still exists');
  // The current token may do both.
  assert.ok((await rpcCall(shard, current, 'tenants.rotate')).result !== undefined);
});

test('the rule: every method that changes credentials refuses a grace token, no other method does, and the store refuses it too', async (t) => {
  const shard = await startTestShard(t);
  const { old } = await withGrace(shard, 'grace2');
  const methods = [...shard.services.rpcMethods.values()];
  const flagged = methods.filter((m) => m.changesCredentials === true).map((m) => m.name);
  // A method whose name says it touches tokens, secrets, credentials or the tenant's existence must be flagged.
  for (const m of methods) {
    if (/^tenants\.(rotate|delete)$|token|secret|credential|^channels\.(add|update|remove|pairing\.(approve|deny|revoke))$/.test(m.name)) assert.ok(flagged.includes(m.name), `${m.name} must set changesCredentials`);
  }
  for (const m of methods) {
    if (m.name === 'tenants.delete' || m.name === 'tenants.rotate') continue; // asserted above; run them last
    const code = (await rpcCall(shard, old, m.name, {})).error?.data?.code;
    if (flagged.includes(m.name)) assert.equal(code, 'AUTH_GRACE_TOKEN_LIMITED', m.name);
    else assert.notEqual(code, 'AUTH_GRACE_TOKEN_LIMITED', m.name);
  }
  // The store is the one place credentials change: it refuses a grace actor whichever path called it.
  const actor = { type: 'tenant' as const, keyId: '00000000', grace: true as const };
  await assert.rejects(shard.services.store.rotate('grace2', 0, actor), { code: 'AUTH_GRACE_TOKEN_LIMITED' });
  await assert.rejects(shard.services.store.delete('grace2', actor), { code: 'AUTH_GRACE_TOKEN_LIMITED' });
});
