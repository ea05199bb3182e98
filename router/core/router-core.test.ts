// The router core on a plain fetch forwarder (as a Workers-style runtime runs it), in front of real shards.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createRouterCore, type RouterCoreOptions } from './router-core.ts';
import { tenantFromHead } from './request-tenant.ts';
import type { Forwarder, RouterObserver } from './forward-to-owner.ts';
import { initPlacement } from '../placement/rendezvous.ts';
import { createManifestPoller, type ManifestPoller } from '../manifest/manifest-poller.ts';
import { fileManifestSource } from '../manifest/file-manifest-source.ts';
import { startTestFleet, type TestFleet } from '../../test/helpers/router-fleet-fixture.ts';

const placement = await initPlacement();
const BASE = 'http://router.test';

interface Harness {
  fleet: TestFleet;
  poller: ManifestPoller;
  calls: string[];
  core: ReturnType<typeof createRouterCore>;
  req(path: string, init?: { method?: string; token?: string; body?: unknown; headers?: Record<string, string>; addr?: string }): Promise<Response>;
}

async function harness(t: TestContext, opts: { shards?: number; core?: Partial<RouterCoreOptions>; fleet?: TestFleet } = {}): Promise<Harness> {
  const fleet = opts.fleet ?? (await startTestFleet(t, opts.shards ?? 3));
  const poller = createManifestPoller({ source: fileManifestSource(fleet.manifestPath), intervalMs: 3_600_000 });
  t.after(() => poller.close());
  await poller.start();
  const calls: string[] = [];
  // The Workers-style forwarder: nothing but the global fetch.
  const forward: Forwarder = (shardUrl, req) => {
    calls.push(shardUrl);
    return fetch(req);
  };
  const core = createRouterCore({
    manifest: poller,
    manifestStatus: () => poller.status(),
    placement,
    forward,
    adminKeyHashes: [createHash('sha256').update(fleet.adminKey).digest('hex')],
    ...opts.core,
  });
  const req: Harness['req'] = (path, init = {}) => {
    const headers: Record<string, string> = { ...init.headers };
    if (init.token !== undefined) headers['authorization'] = `Bearer ${init.token}`;
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    const r = new Request(BASE + path, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers,
      ...(init.body === undefined ? {} : { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }),
    });
    return core.fetch(r, init.addr === undefined ? {} : { clientAddress: init.addr });
  };
  return { fleet, poller, calls, core, req };
}

async function createVia(h: Harness, id: string): Promise<{ token: string; shard: string; res: Response }> {
  const res = await h.req('/v1/tenants', { token: h.fleet.adminKey, body: { id } });
  assert.equal(res.status, 201, `create ${id}: ${res.status}`);
  const body = (await res.json()) as { token: string; shard: string };
  return { token: body.token, shard: body.shard, res };
}

async function health(h: Harness, token: string): Promise<{ status: number; tenant?: string; shard?: string; via?: string | null }> {
  const res = await h.req('/rpc', { token, body: { jsonrpc: '2.0', id: 1, method: 'health' } });
  if (res.status !== 200) return { status: res.status };
  const body = (await res.json()) as { result: { tenant: string; shard: string } };
  return { status: 200, tenant: body.result.tenant, shard: body.result.shard, via: res.headers.get('x-openclawmu-shard') };
}

function errorCode(body: unknown): string | undefined {
  return (body as { error?: { code?: string } }).error?.code;
}

void test('Workers-style core: creates land on the placement owner and every token reaches its own tenant', async (t) => {
  const h = await harness(t);
  const manifest = h.poller.current();
  assert.ok(manifest);
  const tokens = new Map<string, string>();
  for (let i = 0; i < 24; i++) {
    const id = `t${i}`;
    const { token, shard, res } = await createVia(h, id);
    assert.equal(shard, placement.ownerOf(id, manifest));
    assert.equal(res.headers.get('x-openclawmu-shard'), shard);
    assert.match(res.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    tokens.set(id, token);
  }
  assert.equal(new Set([...tokens.keys()].map((id) => placement.ownerOf(id, manifest))).size, 3, 'all three shards got tenants');
  for (const [id, token] of tokens) {
    const got = await health(h, token);
    assert.equal(got.tenant, id);
    assert.equal(got.shard, placement.ownerOf(id, manifest));
  }
  // Per-tenant admin routes go by the path; a request id given by the client is kept.
  const info = await h.req('/v1/tenants/t3', { token: h.fleet.adminKey, headers: { 'x-request-id': 'abc-123' } });
  assert.equal(info.status, 200);
  assert.equal(info.headers.get('x-request-id'), 'abc-123');
  assert.equal(((await info.json()) as { id: string }).id, 't3');
  // A token for a tenant that does not exist is routed by its id and refused by the owner shard.
  const forged = await h.req('/rpc', { token: `tk_nobody_${'0'.repeat(32)}`, body: { jsonrpc: '2.0', id: 1, method: 'health' } });
  assert.equal(forged.status, 401);
});

void test('no tenant and no fleet-wide route: 401/404 from the router, no shard touched', async (t) => {
  const h = await harness(t, { shards: 1 });
  h.calls.length = 0;
  const anon = await h.req('/rpc', { body: { jsonrpc: '2.0', id: 1, method: 'health' } });
  assert.equal(anon.status, 401);
  assert.equal(errorCode(await anon.json()), 'ROUTER_NO_TENANT');
  const adminUnknown = await h.req('/v1/nothing-here', { token: h.fleet.adminKey });
  assert.equal(adminUnknown.status, 404);
  const badCreate = await h.req('/v1/tenants', { token: h.fleet.adminKey, body: { id: 'Not Valid' } });
  assert.equal(badCreate.status, 400);
  assert.equal(errorCode(await badCreate.json()), 'SHARD_TENANT_ID_INVALID');
  const notJson = await h.req('/v1/tenants', { token: h.fleet.adminKey, body: '{nope' });
  assert.equal(notJson.status, 400);
  assert.deepEqual(h.calls, []);
  assert.equal((await h.req('/healthz')).status, 200);
  const ready = await h.req('/readyz');
  assert.equal(((await ready.json()) as { manifestVersion: number }).manifestVersion, 1);
});

void test('fleet-wide tenant list merges every shard, id-sorted, with an exact cursor; fleet status counts', async (t) => {
  const h = await harness(t);
  const ids = Array.from({ length: 23 }, (_, i) => `m${String(i).padStart(2, '0')}`);
  for (const id of ids) await createVia(h, id);
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const q: string = cursor === null ? '?limit=5' : `?limit=5&cursor=${cursor}`;
    const res = await h.req(`/v1/tenants${q}`, { token: h.fleet.adminKey });
    assert.equal(res.status, 200);
    const page = (await res.json()) as { tenants: { id: string }[]; nextCursor: string | null };
    assert.ok(page.tenants.length <= 5);
    seen.push(...page.tenants.map((x) => x.id));
    cursor = page.nextCursor;
    pages += 1;
  } while (cursor !== null && pages < 20);
  assert.deepEqual(seen, ids);
  assert.equal((await h.req('/v1/tenants?limit=0', { token: h.fleet.adminKey })).status, 400);

  const fleet = (await (await h.req('/v1/fleet', { token: h.fleet.adminKey })).json()) as { manifest: { version: number }; shards: { id: string; status: string; tenants: number }[]; tenants: number };
  assert.equal(fleet.manifest.version, 1);
  assert.deepEqual(fleet.shards.map((s) => [s.id, s.status]), [['s1', 'up'], ['s2', 'up'], ['s3', 'up']]);
  assert.equal(fleet.tenants, 23);
});

void test('fleet-wide routes need an admin key: none → 401, wrong → 401, tenant token → 403', async (t) => {
  const h = await harness(t, { shards: 1 });
  const { token } = await createVia(h, 'acme');
  h.calls.length = 0;
  const none = await h.req('/v1/fleet');
  assert.equal(none.status, 401);
  assert.equal(errorCode(await none.json()), 'AUTH_REQUIRED');
  const wrong = await h.req('/v1/tenants', { token: `ak_${'1'.repeat(32)}` });
  assert.equal(wrong.status, 401);
  assert.equal(errorCode(await wrong.json()), 'AUTH_INVALID');
  const tenant = await h.req('/v1/tenants', { token });
  assert.equal(tenant.status, 403);
  assert.deepEqual(h.calls, [], 'refused before any shard');
});

void test('a router with a stale manifest follows a 421 to the owner (refreshing its manifest)', async (t) => {
  const fleet = await startTestFleet(t, 2);
  const fresh = await harness(t, { fleet });
  // A tenant that placement over {s1,s2} puts on s2.
  const id = Array.from({ length: 100 }, (_, i) => `mv${i}`).find((x) => placement.ownerOf(x, fresh.poller.current()!) === 's2') as string;
  const { token } = await createVia(fresh, id);
  // The stale router believes only s1 exists; s1 holds a tombstone for the tenant (as a move leaves it).
  fleet.writeManifest(1, ['s1']);
  const retries: string[] = [];
  const stale = await harness(t, { fleet, core: { observer: { retry: (r) => retries.push(r) } } });
  assert.equal(stale.poller.current()?.shards.length, 1);
  const moved = await fleet.shards[0]!.admin(`/v1/tenants/${id}/moved`, { body: { owner: 's2', epoch: 2 } });
  assert.equal(moved.status, 200);
  fleet.writeManifest(2);
  const got = await health(stale, token);
  assert.equal(got.status, 200);
  assert.equal(got.tenant, id);
  assert.equal(got.via, 's2');
  assert.deepEqual(retries, ['misdirected']);
  assert.equal(stale.poller.current()?.version, 2, 'the 421 refreshed the manifest');
  // Next request goes straight to s2.
  stale.calls.length = 0;
  assert.equal((await health(stale, token)).status, 200);
  assert.equal(stale.calls.length, 1);
});

void test('shards that keep redirecting end in 508 ROUTER_TOO_MANY_HOPS after two hops', async (t) => {
  const h = await harness(t, { shards: 2 });
  const id = 'pingpong';
  await h.fleet.shards[0]!.admin(`/v1/tenants/${id}/moved`, { body: { owner: 's2', epoch: 2 } });
  await h.fleet.shards[1]!.admin(`/v1/tenants/${id}/moved`, { body: { owner: 's1', epoch: 2 } });
  h.calls.length = 0;
  const res = await h.req(`/v1/tenants/${id}`, { token: h.fleet.adminKey });
  assert.equal(res.status, 508);
  assert.equal(errorCode(await res.json()), 'ROUTER_TOO_MANY_HOPS');
  assert.equal(h.calls.length, 3, 'first try + two hops');
});

void test('a frozen tenant is held (body kept) and served when it thaws; past the hold limit → 503 ROUTER_HOLD_EXPIRED', async (t) => {
  let onFrozen: () => void = () => {};
  const holds: string[] = [];
  const observer: RouterObserver = { retry: (r) => r === 'frozen' && onFrozen(), hold: (o) => holds.push(o) };
  const h = await harness(t, { shards: 1, core: { observer, limits: { holdLimitMs: 10_000 } } });
  const { token } = await createVia(h, 'cold');
  const owner = h.fleet.shards[0]!;
  assert.equal((await owner.admin('/v1/tenants/cold/freeze', { method: 'POST' })).status, 200);
  onFrozen = () => void owner.admin('/v1/tenants/cold/thaw', { method: 'POST' });
  const got = await h.req('/rpc', { token, body: { jsonrpc: '2.0', id: 7, method: 'health' } });
  assert.equal(got.status, 200);
  assert.equal(((await got.json()) as { id: number; result: { tenant: string } }).result.tenant, 'cold', 'the buffered body was replayed');
  assert.deepEqual(holds, ['released']);

  const short = await harness(t, { fleet: h.fleet, core: { observer: { hold: (o) => holds.push(o) }, limits: { holdLimitMs: 150 } } });
  await owner.admin('/v1/tenants/cold/freeze', { method: 'POST' });
  const expired = await short.req('/rpc', { token, body: { jsonrpc: '2.0', id: 1, method: 'health' } });
  assert.equal(expired.status, 503);
  assert.equal(errorCode(await expired.json()), 'ROUTER_HOLD_EXPIRED');
  assert.equal(expired.headers.get('retry-after'), '1');
  assert.deepEqual(holds, ['released', 'expired']);
});

void test('a shard that is down answers 502 ROUTER_UPSTREAM_DOWN; tenants of other shards are untouched', async (t) => {
  const errors: string[] = [];
  const h = await harness(t, { core: { observer: { upstreamError: (s, c) => errors.push(`${s}:${c}`) } } });
  const m = h.poller.current()!;
  const byShard = new Map<string, { id: string; token: string }>();
  for (let i = 0; byShard.size < 3 && i < 200; i++) {
    const id = `d${i}`;
    const owner = placement.ownerOf(id, m) as string;
    if (!byShard.has(owner)) byShard.set(owner, { id, token: (await createVia(h, id)).token });
  }
  await h.fleet.shards[1]!.close();
  const down = await health(h, byShard.get('s2')!.token);
  assert.equal(down.status, 502);
  assert.deepEqual(errors, ['s2:ROUTER_UPSTREAM_DOWN']);
  assert.equal((await health(h, byShard.get('s1')!.token)).tenant, byShard.get('s1')!.id);
  assert.equal((await health(h, byShard.get('s3')!.token)).tenant, byShard.get('s3')!.id);
  const fleet = (await (await h.req('/v1/fleet', { token: h.fleet.adminKey })).json()) as { shards: { id: string; status: string }[] };
  assert.deepEqual(fleet.shards.map((s) => s.status), ['up', 'down', 'up']);
  const list = await h.req('/v1/tenants', { token: h.fleet.adminKey });
  assert.equal(list.headers.get('x-openclawmu-partial'), '1');
  assert.deepEqual(((await list.json()) as { unavailableShards: { shard: string }[] }).unavailableShards.map((u) => u.shard), ['s2']);
});

void test('repeated 401s from one address get 429 AUTH_TOO_MANY_FAILURES from the router, before any shard', async (t) => {
  let throttled = 0;
  const h = await harness(t, { shards: 1, core: { authThrottle: { limit: 5, windowMs: 60_000 }, observer: { authThrottled: () => (throttled += 1) } } });
  const { token } = await createVia(h, 'victim');
  for (let i = 0; i < 5; i++) {
    const res = await h.req('/rpc', { token: `tk_victim_${String(i).repeat(32).slice(0, 32)}`, addr: '203.0.113.9', body: { jsonrpc: '2.0', id: 1, method: 'health' } });
    assert.equal(res.status, 401);
  }
  h.calls.length = 0;
  const blocked = await h.req('/rpc', { token, addr: '203.0.113.9', body: { jsonrpc: '2.0', id: 1, method: 'health' } });
  assert.equal(blocked.status, 429);
  assert.equal(errorCode(await blocked.json()), 'AUTH_TOO_MANY_FAILURES');
  assert.ok(Number(blocked.headers.get('retry-after')) > 0);
  assert.deepEqual(h.calls, []);
  assert.equal(throttled, 1);
  // Another address (the real tenant elsewhere) is unaffected.
  const other = await h.req('/rpc', { token, addr: '198.51.100.7', body: { jsonrpc: '2.0', id: 1, method: 'health' } });
  assert.equal(other.status, 200);
});

void test('body limits: over the max → 413 before forwarding; over the replay size it streams through', async (t) => {
  const h = await harness(t, { shards: 1, core: { limits: { maxBodyBytes: 4096, replayBodyBytes: 512 } } });
  const { token } = await createVia(h, 'big');
  h.calls.length = 0;
  const tooBig = await h.req('/rpc', { token, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'health', pad: 'x'.repeat(5000) }) });
  assert.equal(tooBig.status, 413);
  assert.equal(errorCode(await tooBig.json()), 'BODY_TOO_LARGE');
  assert.deepEqual(h.calls, []);
  // 2 KB: larger than the replay buffer, streamed to the shard, which answers it normally.
  const streamed = await h.req('/rpc', { token, body: JSON.stringify([{ jsonrpc: '2.0', id: 1, method: 'health' }, { jsonrpc: '2.0', id: 2, method: 'health', params: {} }, ...Array.from({ length: 40 }, (_, i) => ({ jsonrpc: '2.0', id: 10 + i, method: 'health' }))]) });
  assert.equal(streamed.status, 200);
  assert.equal(((await streamed.json()) as unknown[]).length, 42);
});

void test('without a manifest the router is not ready and refuses tenant traffic with 503', async (t) => {
  const fleet = await startTestFleet(t, 1);
  const { rmSync } = await import('node:fs');
  rmSync(fleet.manifestPath);
  const h = await harness(t, { fleet });
  assert.equal((await h.req('/readyz')).status, 503);
  const res = await h.req('/rpc', { token: `tk_a_${'0'.repeat(32)}`, body: {} });
  assert.equal(res.status, 503);
  assert.equal(errorCode(await res.json()), 'ROUTER_MANIFEST_UNAVAILABLE');
});

void test('a webhook routes by the tenant in its path, even when it carries another tenant token (issue 12)', () => {
  const head = (pathname: string, auth: string | null) => ({ method: 'POST', pathname, header: (n: string) => (n === 'authorization' ? auth : null) });
  assert.deepEqual(tenantFromHead(head('/hooks/bravo/tg', `Bearer tk_alpha_${'a'.repeat(32)}`)), { tenantId: 'bravo', source: 'hook-path' });
  assert.deepEqual(tenantFromHead(head('/rpc', `Bearer tk_alpha_${'a'.repeat(32)}`)), { tenantId: 'alpha', source: 'token' });
});
