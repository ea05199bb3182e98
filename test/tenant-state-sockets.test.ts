// Issue 11 items 3 and 10: a tenant state change that refuses HTTP also ends or refuses the tenant's
// open WebSockets (over /rpc, /ws and /v1 alike), and one tenant cannot hold more than
// limits.wsPerTenant sockets open.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { WebSocket } from 'ws';
import { createTenant, rpcCall, startTestShard, type TestShard } from './helpers/shard-fixture.ts';

function wsUrl(shard: TestShard): string {
  return `${shard.url.replace('http', 'ws')}/ws`;
}

async function openWs(t: TestContext, shard: TestShard, token: string): Promise<WebSocket> {
  const ws = new WebSocket(wsUrl(shard), ['openclawmu.v1', token]);
  t.after(() => ws.terminate());
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return ws;
}

/** The status of an upgrade attempt: 101 when it opened (the socket is then closed), else the refusal. */
async function upgradeStatus(shard: TestShard, token: string, keep: WebSocket[]): Promise<{ status: number; code?: string }> {
  const ws = new WebSocket(wsUrl(shard), ['openclawmu.v1', token]);
  ws.on('error', () => {});
  return new Promise((resolve) => {
    ws.once('open', () => {
      keep.push(ws);
      resolve({ status: 101 });
    });
    ws.once('unexpected-response', (req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, code: (JSON.parse(body || '{}') as { error?: { code?: string } }).error?.code ?? '' });
      });
    });
  });
}

/**
 * After `change`, the socket opened before must not do anything: it is closed, or each message is
 * refused. Sends a memory write, a model call and a token rotation and checks none took effect.
 */
async function assertSocketInert(ws: WebSocket): Promise<void> {
  if (ws.readyState !== WebSocket.OPEN) return;
  const messages: unknown[] = [];
  const settled = new Promise<void>((resolve) => {
    ws.once('close', () => resolve());
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString()) as unknown;
      messages.push(m);
      if (Array.isArray(m)) resolve(); // the batch's reply (notifications are single objects)
    });
  });
  try {
    ws.send(JSON.stringify([
      { jsonrpc: '2.0', id: 1, method: 'config.set', params: { path: 'timezone', value: 'Europe/Paris' } },
      { jsonrpc: '2.0', id: 2, method: 'chat.send', params: { message: 'hi', model: 'echo', idempotencyKey: 'k' } },
      { jsonrpc: '2.0', id: 3, method: 'tenants.rotate', params: {} },
    ]));
  } catch {
    return; // already closing
  }
  await settled;
  for (const m of messages.flat() as Array<{ result?: unknown; method?: string }>) {
    assert.ok(m.result === undefined && m.method === undefined, `a refused tenant's socket still worked: ${JSON.stringify(m).slice(0, 200)}`);
  }
}

async function httpRefused(shard: TestShard, token: string): Promise<void> {
  const rpc = await shard.rpc(token, { jsonrpc: '2.0', id: 1, method: 'tenants.get' });
  assert.ok(rpc.status >= 400, `/rpc answered ${rpc.status}`);
  const v1 = await fetch(`${shard.url}/v1/models`, { headers: { authorization: `Bearer ${token}` } });
  assert.ok(v1.status >= 400, `/v1 answered ${v1.status}`);
}

test('issue 11 item 3: disabling a tenant ends its open WebSockets; nothing sent on them takes effect', { timeout: 30_000 }, async (t) => {
  const shard = await startTestShard(t);
  const { token } = await createTenant(shard, 'dis1');
  const other = await createTenant(shard, 'dis2');
  const ws = await openWs(t, shard, token);
  const bystander = await openWs(t, shard, other.token);
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  assert.equal((await shard.admin('/v1/tenants/dis1', { method: 'PATCH', body: { disabled: true } })).status, 200);
  assert.equal(await closed, 1012);
  await httpRefused(shard, token);
  assert.equal((await upgradeStatus(shard, token, [])).status, 403, 'a new upgrade is refused like HTTP');
  // Re-enabled, the audit shows no config write or rotation from the old socket.
  await shard.admin('/v1/tenants/dis1', { method: 'PATCH', body: { disabled: false } });
  const cfg = (await rpcCall(shard, token, 'config.get')).result as Record<string, unknown>;
  assert.notEqual(JSON.stringify(cfg).includes('Europe/Paris'), true);
  assert.equal(bystander.readyState, WebSocket.OPEN, 'another tenant is not touched');
});

// Every state change that makes HTTP refuse the token, applied while a socket is open.
const CHANGES: Array<{ name: string; apply(shard: TestShard, id: string): Promise<unknown> }> = [
  { name: 'disable', apply: (s, id) => s.admin(`/v1/tenants/${id}`, { method: 'PATCH', body: { disabled: true } }) },
  { name: 'freeze', apply: (s, id) => s.admin(`/v1/tenants/${id}/freeze`, { body: {} }) },
  { name: 'rotate without grace', apply: (s, id) => s.admin(`/v1/tenants/${id}/token`, { body: {} }) },
  { name: 'delete', apply: (s, id) => s.admin(`/v1/tenants/${id}?confirm=true`, { method: 'DELETE' }) },
];

test('the rule: every tenant state change that refuses HTTP also ends or refuses its sockets (/rpc, /ws, /v1)', { timeout: 30_000 }, async (t) => {
  const shard = await startTestShard(t);
  for (const [i, change] of CHANGES.entries()) {
    const id = `st${i}`;
    const { token } = await createTenant(shard, id);
    const ws = await openWs(t, shard, token);
    await change.apply(shard, id);
    await httpRefused(shard, token);
    await assertSocketInert(ws);
    const status = (await upgradeStatus(shard, token, [])).status;
    assert.ok(status >= 400, `${change.name}: a new upgrade answered ${status}`);
  }
});

test('issue 11 item 10: limits.wsPerTenant caps one tenant\'s open sockets (429 SHARD_WS_LIMIT), even when they race; others are unaffected', { timeout: 30_000 }, async (t) => {
  const shard = await startTestShard(t, { config: { limits: { wsPerTenant: 3 } } });
  const a = await createTenant(shard, 'wsl1');
  const b = await createTenant(shard, 'wsl2');
  const open: WebSocket[] = [];
  t.after(() => open.forEach((w) => w.terminate()));
  const raced = await Promise.all(Array.from({ length: 12 }, () => upgradeStatus(shard, a.token, open)));
  assert.equal(raced.filter((r) => r.status === 101).length, 3);
  for (const r of raced.filter((x) => x.status !== 101)) assert.deepEqual(r, { status: 429, code: 'SHARD_WS_LIMIT' });
  assert.equal((await upgradeStatus(shard, b.token, open)).status, 101, 'another tenant still connects');
  // Closing one frees its place.
  const first = open[0] as WebSocket;
  await new Promise<void>((resolve) => {
    first.once('close', () => resolve());
    first.close();
  });
  // the client's close event can come before the server's; wait (by event-loop turns) for the server
  const deadline = Date.now() + 5000;
  while (shard.services.sockets.count('wsl1') !== 2 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
  assert.equal(shard.services.sockets.count('wsl1'), 2);
  assert.equal((await upgradeStatus(shard, a.token, open)).status, 101);
});
