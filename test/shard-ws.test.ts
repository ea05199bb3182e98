// JSON-RPC over WebSocket: auth at the upgrade, malformed frames answered while the connection
// lives on, batches, frozen tenants refused per message, rotated tokens end the socket.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { createTenant, startTestShard, type TestShard } from './helpers/shard-fixture.ts';

async function open(t: TestContext, shard: TestShard, protocols: string[], headers?: Record<string, string>): Promise<WebSocket> {
  const ws = new WebSocket(`${shard.url.replace('http', 'ws')}/ws`, protocols, headers === undefined ? {} : { headers });
  t.after(() => ws.close());
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return ws;
}

function nextMessage(ws: WebSocket): Promise<unknown> {
  return new Promise((resolve) => ws.once('message', (d) => resolve(JSON.parse(d.toString()))));
}

test('auth at the upgrade: bad or missing token is refused with 401 before any frame', async (t) => {
  const shard = await startTestShard(t);
  await createTenant(shard, 'wsa');
  for (const protocols of [['openclawmu.v1'], ['openclawmu.v1', `tk_wsa_${'0'.repeat(32)}`]]) {
    const ws = new WebSocket(`${shard.url.replace('http', 'ws')}/ws`, protocols);
    ws.on('error', () => {}); // the refused handshake also surfaces as an error event
    const status = await new Promise<number>((resolve) =>
      ws.once('unexpected-response', (req, res) => {
        resolve(res.statusCode ?? 0);
        res.resume();
        req.destroy();
      }),
    );
    assert.equal(status, 401);
  }
});

test('methods, batches and malformed frames over one connection that lives on', async (t) => {
  const shard = await startTestShard(t);
  const { token } = await createTenant(shard, 'wsb');
  const ws = await open(t, shard, [], { authorization: `Bearer ${token}` });
  ws.send('{not json');
  assert.deepEqual(((await nextMessage(ws)) as { error: { code: number } }).error.code, -32700);
  ws.send(JSON.stringify({ jsonrpc: '1.0', id: 5, method: 'health' }));
  assert.equal(((await nextMessage(ws)) as { error: { code: number } }).error.code, -32600);
  ws.send(JSON.stringify([]));
  assert.equal(((await nextMessage(ws)) as { error: { code: number } }).error.code, -32600);
  ws.send(JSON.stringify({ jsonrpc: '2.0', id: 6, method: 'no.such' }));
  assert.equal(((await nextMessage(ws)) as { error: { code: number } }).error.code, -32601);
  ws.send(JSON.stringify([
    { jsonrpc: '2.0', id: 'a', method: 'health' },
    { jsonrpc: '2.0', method: 'config.set', params: { path: 'timezone', value: 'UTC' } },
    { jsonrpc: '2.0', id: 'c', method: 'config.get' },
  ]));
  const batch = (await nextMessage(ws)) as Array<{ id: string; result: Record<string, unknown> }>;
  assert.equal(batch.length, 2, 'the notification gets no response');
  assert.deepEqual(batch.map((r) => r.id).sort(), ['a', 'c']);
  assert.equal(ws.readyState, WebSocket.OPEN);
});

test('a frozen tenant gets an RPC error per message; thawed it works again; rotation without grace closes the socket', async (t) => {
  const shard = await startTestShard(t);
  const { token } = await createTenant(shard, 'wsc');
  const ws = await open(t, shard, ['openclawmu.v1', token]);
  assert.equal(ws.protocol, 'openclawmu.v1');
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  await shard.admin('/v1/tenants/wsc/freeze', { body: {} });
  assert.equal(await closed, 1012, 'freeze closes the tenant sockets (clients reconnect to the owner)');
  await shard.admin('/v1/tenants/wsc/thaw', { body: {} });
  const ws2 = await open(t, shard, ['openclawmu.v1', token]);
  ws2.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'health' }));
  assert.equal(((await nextMessage(ws2)) as { result: { ok: boolean } }).result.ok, true);
  await shard.admin('/v1/tenants/wsc/token', { body: {} });
  const closed2 = new Promise<number>((resolve) => ws2.once('close', (code) => resolve(code)));
  ws2.send(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'health' }));
  assert.equal(await closed2, 4001);
});

test('deleting a tenant (over RPC) ends its open WebSockets', async (t) => {
  const shard = await startTestShard(t);
  const { token } = await createTenant(shard, 'wsd');
  const ws = await open(t, shard, ['openclawmu.v1', token]);
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  const res = await shard.rpc(token, { jsonrpc: '2.0', id: 1, method: 'tenants.delete', params: { confirm: true } });
  assert.equal(res.status, 200);
  assert.equal(await closed, 1012);
});

test('a tenant deleting itself over /ws gets the reply on that socket before its 1012 close; its other sockets close too', async (t) => {
  const shard = await startTestShard(t);
  const { token } = await createTenant(shard, 'wse');
  const ws1 = await open(t, shard, ['openclawmu.v1', token]);
  const ws2 = await open(t, shard, ['openclawmu.v1', token]);
  const seen1: unknown[] = [];
  ws1.on('message', (d) => seen1.push(JSON.parse(d.toString())));
  const closed1 = new Promise<number>((resolve) => ws1.once('close', (code) => resolve(code)));
  const closed2 = new Promise<number>((resolve) => ws2.once('close', (code) => resolve(code)));
  ws1.send(JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tenants.delete', params: { confirm: true } }));
  assert.equal(await closed1, 1012);
  assert.deepEqual(seen1, [{ jsonrpc: '2.0', id: 7, result: { id: 'wse', deleted: true } }], 'the reply arrives before the close');
  assert.equal(await closed2, 1012);
  assert.equal((await shard.admin('/v1/tenants/wse')).status, 404);
});
