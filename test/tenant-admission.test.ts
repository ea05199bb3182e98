// Issue 11 item 5 (first part): one tenant's work in flight is capped (limits.tenantConcurrentRequests)
// over HTTP and WebSocket alike, so it cannot queue unbounded work; another tenant is still admitted.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WebSocket } from 'ws';
import { startAiFixture } from './ai/ai-fixture.ts';

test('issue 11 item 5: past limits.tenantConcurrentRequests a tenant gets 429 QUOTA_CONCURRENT_REQUESTS (/v1, /rpc, /ws); others are unaffected', { timeout: 60_000 }, async (t) => {
  const s = await startAiFixture(t, { limits: { tenantConcurrentRequests: 3 } });
  const a = await s.tenant('adm-a');
  const b = await s.tenant('adm-b');
  // a socket opened before the tenant is busy (an upgrade is itself refused at the limit)
  const ws = new WebSocket(`${s.shard.url.replace('http', 'ws')}/ws`, ['openclawmu.v1', a.token]);
  t.after(() => ws.terminate());
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const held = s.openaiFake.hold();
  t.after(() => held.release());
  const chat = (token: string): Promise<Response> =>
    fetch(`${s.shard.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'fast', messages: [{ role: 'user', content: 'hi' }] }) });
  const inFlight = [chat(a.token), chat(a.token), chat(a.token)];
  const deadline = Date.now() + 10_000;
  while (s.shard.services.admission.count('adm-a') < 3 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
  assert.equal(s.shard.services.admission.count('adm-a'), 3);

  const v1 = await chat(a.token);
  assert.equal(v1.status, 429);
  assert.equal(v1.headers.get('retry-after'), '1');
  assert.equal(((await v1.json()) as { error: { code: string } }).error.code, 'QUOTA_CONCURRENT_REQUESTS');
  const rpc = await s.shard.rpc(a.token, { jsonrpc: '2.0', id: 1, method: 'health' });
  assert.equal(rpc.status, 429);
  assert.equal(((await rpc.json()) as { error?: { code: string } }).error?.code, 'QUOTA_CONCURRENT_REQUESTS');
  const reply = new Promise<string>((resolve) => ws.once('message', (d) => resolve(d.toString())));
  ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'health' }));
  assert.equal((JSON.parse(await reply) as { error?: { data?: { code: string } } }).error?.data?.code, 'QUOTA_CONCURRENT_REQUESTS');

  // Another tenant is admitted meanwhile.
  const other = await s.shard.rpc(b.token, { jsonrpc: '2.0', id: 1, method: 'health' });
  assert.equal(((await other.json()) as { result?: { ok: boolean } }).result?.ok, true);
  held.release();
  for (const r of await Promise.all(inFlight)) assert.equal(r.status, 200);
  // Once they finished, the tenant is admitted again.
  const after = await s.shard.rpc(a.token, { jsonrpc: '2.0', id: 1, method: 'health' });
  assert.equal(((await after.json()) as { result?: { ok: boolean } }).result?.ok, true);
});
