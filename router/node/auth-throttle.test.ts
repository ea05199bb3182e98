// The failed-auth throttle through a real Node router in front of real shards, on the core path,
// the fast path and WebSocket upgrades (issue 11 item 2): forged tokens are limited per client
// address and claimed tenant; nobody else behind that address pays for them.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import { startRouter, createRouterLogger, type RunningRouter } from './start-router.ts';
import { parseRouterConfig } from './router-config.ts';
import { createHash } from 'node:crypto';
import { startTestFleet, type TestFleet } from '../../test/helpers/router-fleet-fixture.ts';

const LIMIT = 4;
const forged = (tenant: string, i: number): string => `tk_${tenant}_${i.toString(16).padStart(32, 'f')}`;
const HEALTH = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'health' });

async function routerOn(t: TestContext, fleet: TestFleet, extra: Record<string, unknown> = {}): Promise<RunningRouter> {
  const router = await startRouter(
    parseRouterConfig({ port: 0, manifest: fleet.manifestPath, logLevel: 'silent', adminKeyHashes: [createHash('sha256').update(fleet.adminKey).digest('hex')], authThrottle: { limit: LIMIT, windowMs: 60_000 }, ...extra }),
    { log: createRouterLogger('silent') },
  );
  t.after(() => router.close());
  return router;
}

async function create(router: RunningRouter, fleet: TestFleet, id: string): Promise<string> {
  const res = await fetch(`${router.url}/v1/tenants`, { method: 'POST', headers: { authorization: `Bearer ${fleet.adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ id }) });
  assert.equal(res.status, 201);
  return ((await res.json()) as { token: string }).token;
}

async function rpc(router: RunningRouter, token: string, headers: Record<string, string> = {}): Promise<number> {
  const res = await fetch(`${router.url}/rpc`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers }, body: HEALTH });
  await res.arrayBuffer();
  return res.status;
}

async function upgradeStatus(router: RunningRouter, token: string, headers: Record<string, string> = {}): Promise<number> {
  const ws = new WebSocket(`${router.url.replace('http', 'ws')}/ws`, ['openclawmu.v1', token], { headers });
  ws.on('error', () => {});
  const status = await new Promise<number>((resolve) => {
    ws.once('open', () => resolve(101));
    ws.once('unexpected-response', (_req, res: IncomingMessage) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
  });
  ws.terminate();
  return status;
}

for (const fastPath of [true, false]) {
  void test(`regression issue 11 item 2 (${fastPath ? 'fast path' : 'core path'}): forged tokens for one tenant lock out neither other tenants, nor admins, nor health, nor the tenant's own working token`, async (t) => {
    const fleet = await startTestFleet(t, 2);
    const router = await routerOn(t, fleet, { fastPath });
    const victim = await create(router, fleet, 'victim');
    const bystander = await create(router, fleet, 'bystander');
    assert.equal(await rpc(router, victim), 200, 'the victim works before the attack');

    const statuses: number[] = [];
    for (let i = 0; i < LIMIT + 3; i++) statuses.push(await rpc(router, forged('victim', i)));
    assert.deepEqual(statuses, [...Array<number>(LIMIT).fill(401), 429, 429, 429], 'forged tokens are limited');

    assert.equal(await rpc(router, bystander), 200, 'another tenant behind the same address');
    assert.equal(await rpc(router, victim), 200, 'the victim token that authenticated keeps working');
    const fleetStatus = await fetch(`${router.url}/v1/fleet`, { headers: { authorization: `Bearer ${fleet.adminKey}` } });
    assert.equal(fleetStatus.status, 200, 'admins');
    const info = await fetch(`${router.url}/v1/tenants/victim`, { headers: { authorization: `Bearer ${fleet.adminKey}` } });
    assert.equal(info.status, 200, 'admins on per-tenant routes');
    assert.equal((await fetch(`${router.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${router.url}/readyz`)).status, 200);
    // A forged token that failed is still refused, and a fresh one too: the limit holds.
    assert.equal(await rpc(router, forged('victim', 0)), 429);
    assert.equal(await rpc(router, forged('victim', 99)), 429);
  });
}

void test('regression issue 11 item 2: behind trusted proxies the throttle keys on the forwarded client, never on the proxy', async (t) => {
  const fleet = await startTestFleet(t, 1);
  const router = await routerOn(t, fleet, { trustedProxies: ['127.0.0.0/8', '::1/128'] });
  const token = await create(router, fleet, 'acme');
  const attacker = { 'x-forwarded-for': '203.0.113.7' };
  for (let i = 0; i < LIMIT; i++) assert.equal(await rpc(router, forged('acme', i), attacker), 401);
  assert.equal(await rpc(router, forged('acme', 50), attacker), 429, 'the attacker is limited');
  // Another client of the same balancer, claiming the same tenant with a fresh (still unproven) token: not the attacker.
  assert.equal(await rpc(router, token, { 'x-forwarded-for': '198.51.100.4' }), 200);
  // The attacker cannot escape by prepending addresses: only the hop the trusted proxy saw counts.
  assert.equal(await rpc(router, forged('acme', 51), { 'x-forwarded-for': '192.0.2.1, 203.0.113.7' }), 429);
  // An untrusted peer's X-Forwarded-For means nothing: keyed on the socket, and the header is not passed on.
  const direct = await routerOn(t, fleet);
  for (let i = 0; i < LIMIT; i++) assert.equal(await rpc(direct, forged('acme', i), { 'x-forwarded-for': `198.51.100.${i}` }), 401);
  assert.equal(await rpc(direct, forged('acme', 60), { 'x-forwarded-for': '198.51.100.99' }), 429);
});

void test('regression issue 11 item 2: WebSocket upgrades are counted and refused by the same throttle', async (t) => {
  const fleet = await startTestFleet(t, 1);
  const router = await routerOn(t, fleet);
  const token = await create(router, fleet, 'wsacme');
  assert.equal(await upgradeStatus(router, token), 101);
  const statuses: number[] = [];
  for (let i = 0; i < LIMIT + 1; i++) statuses.push(await upgradeStatus(router, forged('wsacme', i)));
  assert.deepEqual(statuses, [...Array<number>(LIMIT).fill(401), 429], 'forged upgrades are counted, then refused before any shard');
  assert.equal(await rpc(router, forged('wsacme', 70)), 429, 'HTTP and upgrades share one count');
  assert.equal(await upgradeStatus(router, token), 101, 'the working token still upgrades');
  const metrics = await (await fetch(`${router.url}/metrics`)).text();
  assert.match(metrics, /openclawmu_router_auth_throttled_total [2-9]/);
});
