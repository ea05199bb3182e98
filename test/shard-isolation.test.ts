// Isolation: with tenants A and B, every tenant route and every RPC method, called with A's token
// and B's identifiers, returns none of B's data (B is seeded with canary strings; every response
// body and header is searched). New routes and methods are swept automatically.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import { createTenant, rpcCall, startTestShard } from './helpers/shard-fixture.ts';

const CANARY = 'CANARY-b7f3e1-zz';

test('A cannot see B: every HTTP route and RPC method, with B identifiers, over HTTP and WebSocket', async (t) => {
  // channels.* are swept too: B holds a channel whose settings carry the canary
  const shard = await startTestShard(t, { config: { features: { channels: { sealKeys: [{ id: 'k1', key: randomBytes(32).toString('base64') }] } } } });
  const a = await createTenant(shard, 'alpha');
  const b = await createTenant(shard, 'bravo', { displayName: `Bravo ${CANARY}` });
  // Seed B through its own token with canary strings wherever it can hold data.
  const seeded = await rpcCall(shard, b.token, 'config.patch', { patch: { timezone: CANARY.slice(0, 60), labels: { secret: CANARY }, chat: { systemPrompt: CANARY } } });
  assert.equal(seeded.error, undefined, JSON.stringify(seeded.error));
  for (const m of ['memory.add', 'agents.create', 'sessions.create']) {
    if (shard.services.rpcMethods.has(m)) await rpcCall(shard, b.token, m, { text: CANARY, title: CANARY, name: 'bravoagent', model: 'echo', systemPrompt: CANARY });
  }
  const ch = await rpcCall(shard, b.token, 'channels.add', { name: 'bravo', platform: 'webhook', settings: { callbackUrl: `https://example.com/${CANARY}` }, credentials: { signingSecret: `${CANARY}-signing-secret-0123456789` } });
  assert.equal(ch.error, undefined, JSON.stringify(ch.error));
  const bId = 'bravo';
  const idParams = [{}, { id: bId }, { tenantId: bId, tenant: bId }, { id: bId, name: bId, key: bId, path: `../${bId}/tenant.json`, query: CANARY, sessionId: bId }];
  const leaks: string[] = [];
  const check = (where: string, text: string): void => {
    if (text.includes(CANARY) || text.includes('Bravo') || text.includes(b.token)) leaks.push(where);
  };

  // Every RPC method (except self-destructive ones, run last) with every id-shaped params.
  const methods = [...shard.services.rpcMethods.keys()].filter((m) => m !== 'tenants.delete' && m !== 'tenants.rotate');
  assert.ok(methods.length >= 6);
  for (const method of methods) {
    for (const params of idParams) {
      const res = await shard.rpc(a.token, { jsonrpc: '2.0', id: 1, method, params });
      check(`rpc ${method} ${JSON.stringify(params)}`, `${JSON.stringify([...res.headers])}${await res.text()}`);
    }
  }

  // Every HTTP route with A's token, path params replaced by B's identifiers.
  assert.ok(shard.routes.length >= 10);
  for (const r of shard.routes) {
    const url = r.url.replace(/:[A-Za-z]+/g, bId).replace('*', bId);
    const init: RequestInit = { method: r.method, headers: { authorization: `Bearer ${a.token}`, 'content-type': 'application/json' } };
    if (r.method !== 'GET' && r.method !== 'DELETE') init.body = JSON.stringify({ id: bId, tenant: bId, model: 'echo', messages: [{ role: 'user', content: 'hi' }], input: 'hi' });
    const res = await fetch(`${shard.url}${url}${r.method === 'DELETE' ? '?confirm=true' : ''}`, init);
    const txt = await res.text();
    check(`${r.method} ${url}`, `${JSON.stringify([...res.headers])}${txt}`);
  }

  // The same methods over the WebSocket, authenticated with A's token.
  const ws = new WebSocket(`${shard.url.replace('http', 'ws')}/ws`, ['openclawmu.v1', a.token]);
  t.after(() => ws.close());
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const replies: string[] = [];
  let expected = 0;
  const done = new Promise<void>((resolve) => {
    ws.on('message', (d) => {
      replies.push(d.toString());
      if (replies.length === expected) resolve();
    });
  });
  for (const method of methods) {
    for (const params of idParams) {
      expected++;
      ws.send(JSON.stringify({ jsonrpc: '2.0', id: expected, method, params }));
    }
  }
  await done;
  for (const r of replies) check('ws', r);

  // Finally A deletes itself: B is untouched.
  const del = await rpcCall(shard, a.token, 'tenants.delete', { confirm: true });
  assert.equal(del.error, undefined);
  const bStill = await rpcCall(shard, b.token, 'tenants.get');
  assert.equal((bStill.result as { id: string }).id, 'bravo');
  assert.deepEqual(leaks, [], `B's data leaked to A via: ${leaks.join(', ')}`);
});
