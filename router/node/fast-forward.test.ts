// The Node fast path (fast-forward.ts) must behave exactly like the core for the requests it takes,
// hand everything else to the core, and stop upstream work when the client leaves.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { startRouter, createRouterLogger, type RunningRouter } from './start-router.ts';
import { parseRouterConfig } from './router-config.ts';
import { serializeManifest, parseManifest } from '../manifest/manifest-schema.ts';
import { tempDir } from '../../test/helpers/shard-fixture.ts';

const TOKEN = `tk_acme_${'a'.repeat(32)}`;

interface Upstream {
  readonly url: string;
  readonly seen: IncomingMessage[];
  /** Resolves with the next request the upstream receives. */
  next(): Promise<IncomingMessage>;
}

/** A real HTTP server standing in for a shard; `answer` decides per request (default: echo). */
async function upstream(t: TestContext, answer?: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void): Promise<Upstream> {
  const seen: IncomingMessage[] = [];
  const waiting: ((r: IncomingMessage) => void)[] = [];
  const server = createServer((req, res) => {
    seen.push(req);
    waiting.shift()?.(req);
    if (req.url?.startsWith('/v1/slow') === true) return; // never answers
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (answer !== undefined) return answer(req, res, body);
      res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': 'upstream-own-id', 'set-cookie': ['a=1', 'b=2'], 'x-upstream': 'yes' });
      res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, rawHeaders: req.rawHeaders, body: body.toString('utf8') }));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, next: () => new Promise((r) => waiting.push(r)) };
}

async function routerFor(t: TestContext, shards: { id: string; url: string }[], extra: Record<string, unknown> = {}, overrides: Record<string, { shard: string; epoch: number }> = {}): Promise<{ router: RunningRouter; manifestPath: string }> {
  const dir = tempDir(t, 'ocmu-fast-');
  const manifestPath = join(dir, 'manifest.json');
  writeFileSync(manifestPath, serializeManifest(parseManifest({ version: 1, shards: shards.map((s) => ({ ...s, weight: 1 })), overrides })));
  const router = await startRouter(parseRouterConfig({ port: 0, manifest: manifestPath, logLevel: 'silent', healthProbe: { intervalMs: 0 }, ...extra }), { log: createRouterLogger('silent') });
  t.after(() => router.close());
  return { router, manifestPath };
}

interface Echo {
  method: string;
  url: string;
  headers: Record<string, string>;
  rawHeaders: string[];
  body: string;
}

/** What the shard received and what the client got back, minus the per-request random id. */
async function exchange(base: string, path: string, init: RequestInit): Promise<{ status: number; headers: Record<string, string>; cookies: string[]; echo: Echo | null }> {
  const res = await fetch(base + path, init);
  const text = await res.text();
  const headers: Record<string, string> = {};
  res.headers.forEach((v, k) => {
    if (k !== 'date' && k !== 'keep-alive' && k !== 'connection' && k !== 'set-cookie') headers[k] = v;
  });
  let echo: Echo | null = null;
  try {
    echo = JSON.parse(text) as Echo;
  } catch {
    echo = null;
  }
  if (echo?.headers !== undefined) {
    assert.equal(headers['x-request-id'], echo.headers['x-request-id'], 'the client gets the request id the shard saw');
    delete echo.headers['x-request-id'];
    delete echo.headers['host'];
    assert.equal(echo.headers['x-forwarded-host'], new URL(base).host);
    delete echo.headers['x-forwarded-host'];
    echo.rawHeaders = [];
  }
  delete headers['x-request-id'];
  delete headers['content-length'];
  return { status: res.status, headers, cookies: res.headers.getSetCookie(), echo };
}

void test('fast path and core forward the same request the same way (headers in, headers out, body)', async (t) => {
  const up = await upstream(t);
  const fast = await routerFor(t, [{ id: 'e1', url: up.url }]);
  const core = await routerFor(t, [{ id: 'e1', url: up.url }], { fastPath: false });
  const auth = { authorization: `Bearer ${TOKEN}` };
  const cases: [string, RequestInit][] = [
    ['/v1/models?x=1', { headers: auth }],
    ['/rpc', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'health' }) }],
    ['/rpc', { method: 'POST', headers: auth, body: '' }],
    ['/v1/x', { method: 'PUT', headers: { ...auth, 'x-request-id': 'client-chosen.id:1', 'x-forwarded-for': '6.6.6.6', 'x-forwarded-host': 'evil', 'x-forwarded-proto': 'gopher' }, body: 'abc' }],
    ['/v1/x', { headers: { ...auth, 'x-request-id': 'not valid because of spaces' } }],
    ['/v1/x', { method: 'DELETE', headers: { ...auth, connection: 'keep-alive', 'x-custom': 'one' } }],
    ['/v1/x', { method: 'HEAD', headers: auth }],
    ['/hooks/acme/slack', { method: 'POST', headers: { ...auth, 'content-type': 'text/plain' }, body: 'hook' }],
  ];
  for (const [path, init] of cases) {
    const a = await exchange(fast.router.url, path, init);
    const b = await exchange(core.router.url, path, init);
    assert.deepEqual(a, b, `${init.method ?? 'GET'} ${path}`);
    assert.equal(a.status, 200);
    if (a.echo !== null) {
      assert.equal(a.echo.headers['x-forwarded-for'], '127.0.0.1', 'a client-supplied x-forwarded-for is replaced');
      assert.equal(a.echo.headers['connection'], 'keep-alive');
    }
  }
  const taken = async (r: RunningRouter): Promise<string> => r.metrics.registry.getSingleMetricAsString('openclawmu_router_path_total');
  assert.match(await taken(fast.router), new RegExp(`path="fast"\\} ${cases.length}(\n|$)`), 'every case took the fast path');
  assert.match(await taken(core.router), new RegExp(`path="core"\\} ${cases.length}(\n|$)`), 'and on the other router, the core');
  // fetch() refuses to send Connection; node:http does. Headers it names are hop-by-hop: dropped.
  for (const router of [fast.router, core.router]) {
    const echo = await rawGet(`${router.url}/v1/x`, { authorization: `Bearer ${TOKEN}`, connection: 'keep-alive, x-secret', 'x-secret': 'must not reach the shard', 'x-kept': 'yes' });
    assert.equal(echo.headers['x-secret'], undefined, 'headers named in Connection are dropped');
    assert.equal(echo.headers['x-kept'], 'yes');
  }
  const put = await fetch(`${fast.router.url}/v1/x`, { method: 'PUT', headers: { authorization: `Bearer ${TOKEN}`, 'x-request-id': 'client-chosen.id:1' }, body: 'abc' });
  assert.equal(put.headers.get('x-request-id'), 'client-chosen.id:1', 'a valid client request id is kept');
  assert.equal(put.headers.get('x-openclawmu-shard'), 'e1');
  assert.deepEqual(put.headers.getSetCookie(), ['a=1', 'b=2']);
  assert.equal(((await put.json()) as Echo).body, 'abc');
});

void test('a 421 on the fast path hands the request (body kept) to the core, which follows the owner', async (t) => {
  const b = await upstream(t);
  const a = await upstream(t, (_req, res) => {
    res.writeHead(421, { 'content-type': 'application/json', 'x-openclawmu-owner': 'b' }).end(JSON.stringify({ error: { code: 'SHARD_NOT_OWNER' } }));
  });
  // The router's manifest puts acme on a; the shard says b (and so will the manifest on refresh).
  const { router, manifestPath } = await routerFor(t, [{ id: 'a', url: a.url }, { id: 'b', url: b.url }], {}, { acme: { shard: 'a', epoch: 1 } });
  writeFileSync(manifestPath, serializeManifest(parseManifest({ version: 2, shards: [{ id: 'a', url: a.url, weight: 1 }, { id: 'b', url: b.url, weight: 1 }], overrides: { acme: { shard: 'b', epoch: 2 } } })));
  const res = await fetch(`${router.url}/rpc`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: '{"jsonrpc":"2.0","id":7,"method":"health"}' });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-openclawmu-shard'), 'b');
  const echo = (await res.json()) as Echo;
  assert.equal(echo.body, '{"jsonrpc":"2.0","id":7,"method":"health"}');
  assert.equal(a.seen.length, 1, 'the stale owner was asked once: the core went to b after refreshing');
  assert.equal(a.seen[0]?.headers['x-request-id'], echo.headers['x-request-id'], 'one request id across the hop');
  const metrics = await router.metrics.registry.getSingleMetricAsString('openclawmu_router_retries_total');
  assert.match(metrics, /reason="misdirected"\} 1/);
  assert.match(await router.metrics.registry.getSingleMetricAsString('openclawmu_router_path_total'), /path="handed-over"\} 1/);
});

void test('401s through the fast path count toward the per-address throttle; the router then answers 429 itself', async (t) => {
  const up = await upstream(t, (_req, res) => {
    res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'AUTH_INVALID' } }));
  });
  const { router } = await routerFor(t, [{ id: 'e1', url: up.url }], { authThrottle: { limit: 3, windowMs: 60_000 } });
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) {
    const res = await fetch(`${router.url}/v1/models`, { headers: { authorization: `Bearer tk_acme_${'b'.repeat(32)}` } });
    statuses.push(res.status);
    await res.arrayBuffer();
  }
  assert.deepEqual(statuses, [401, 401, 401, 429, 429]);
  assert.equal(up.seen.length, 3, 'refused requests never reached the shard');
});

async function rawGet(url: string, headers: Record<string, string>): Promise<Echo> {
  const req = httpRequest(url, { headers, agent: false });
  req.end();
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Echo;
}

/** Sends a request and destroys it as soon as the upstream has it; resolves with the upstream's view. */
async function abandonOnArrival(routerUrl: string, up: Upstream, path: string, headers: Record<string, string>, body?: string, nth = 1): Promise<IncomingMessage> {
  let arrived = up.next();
  const req = httpRequest(`${routerUrl}${path}`, { method: body === undefined ? 'GET' : 'POST', headers });
  req.on('error', () => {});
  req.end(body);
  for (let i = 1; i < nth; i++) {
    await arrived;
    arrived = up.next();
  }
  const upstreamReq = await arrived;
  req.destroy();
  return upstreamReq;
}

void test('a client that leaves before the answer cancels the upstream request (fast path and core)', { timeout: 15_000 }, async (t) => {
  const up = await upstream(t);
  const fast = await routerFor(t, [{ id: 'e1', url: up.url }]);
  const core = await routerFor(t, [{ id: 'e1', url: up.url }], { fastPath: false });
  for (const router of [fast.router, core.router]) {
    const seen = await abandonOnArrival(router.url, up, '/v1/slow', { authorization: `Bearer ${TOKEN}` });
    // The router aborts its upstream request: the shard sees that request's connection close.
    if (!seen.socket.destroyed) await once(seen.socket, 'close');
    assert.equal(seen.socket.destroyed, true);
  }
});

void test('a held request (tenant frozen) stops being retried when the client leaves', async (t) => {
  const up = await upstream(t, (_req, res) => {
    res.writeHead(503, { 'content-type': 'application/json', 'x-openclawmu-frozen': '1', 'retry-after': '1' }).end(JSON.stringify({ error: { code: 'SHARD_TENANT_FROZEN' } }));
  });
  const { router } = await routerFor(t, [{ id: 'e1', url: up.url }], { limits: { holdLimitMs: 60_000 } });
  // The first 503 reaches the fast path, which hands over to the core; the core's first try starts
  // the hold. Leave once the shard has seen a request of the hold itself (the third: 2nd try + poll).
  await abandonOnArrival(router.url, up, '/rpc', { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, '{}', 3);
  // The hold loop notices at its next poll (≤ 1 s apart) and ends the hold as abandoned. Wait for
  // that condition, with a deadline far below the 60 s hold limit.
  const deadline = Date.now() + 10_000;
  let text = '';
  while (!/outcome="abandoned"\} 1/.test(text)) {
    assert.ok(Date.now() < deadline, `the hold was not abandoned: ${text}`);
    await delay(20);
    text = await router.metrics.registry.getSingleMetricAsString('openclawmu_router_holds_total');
  }
  assert.ok(up.seen.length < 10, `the shard was polled ${up.seen.length} times`);
});

void test('a shard that sends a malformed response head → 502 ROUTER_UPSTREAM_DOWN on both paths; the router keeps serving', async (t) => {
  // A raw TCP "shard": Node's http server would refuse to send these heads.
  const heads = [
    'HTTP/1.1 200 OK\r\nx-bad: a\u0001b\r\ncontent-length: 2\r\n\r\nok',
    'HTTP/1.1 200 OK\r\nbad name: x\r\ncontent-length: 2\r\n\r\nok',
    'NOT HTTP AT ALL\r\n\r\n',
  ];
  let n = 0;
  const raw = createTcpServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', () => socket.end(heads[n++ % heads.length] as string));
  });
  raw.listen(0, '127.0.0.1');
  await once(raw, 'listening');
  t.after(() => new Promise<void>((r) => raw.close(() => r())));
  const good = await upstream(t);
  const shards = [{ id: 'bad', url: `http://127.0.0.1:${(raw.address() as AddressInfo).port}` }, { id: 'good', url: good.url }];
  for (const fastPath of [true, false]) {
    const { router } = await routerFor(t, shards, { fastPath }, { acme: { shard: 'bad', epoch: 1 }, beta: { shard: 'good', epoch: 1 } });
    for (let i = 0; i < heads.length; i++) {
      const res = await fetch(`${router.url}/v1/models`, { headers: { authorization: `Bearer ${TOKEN}` } });
      const body = (await res.json()) as { error?: { code: string } };
      assert.equal(res.status, 502, `fastPath=${fastPath} head ${i}`);
      assert.equal(body.error?.code, 'ROUTER_UPSTREAM_DOWN');
    }
    const ok = await fetch(`${router.url}/v1/models`, { headers: { authorization: `Bearer tk_beta_${'c'.repeat(32)}` } });
    assert.equal(ok.status, 200, 'another tenant on a healthy shard is served');
  }
});
