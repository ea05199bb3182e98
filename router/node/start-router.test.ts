// The Node router: real http server, undici pools, streaming both ways, WebSocket pass-through, metrics, timeouts.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { startRouter, createRouterLogger, type RunningRouter } from './start-router.ts';
import { parseRouterConfig } from './router-config.ts';
import { serializeManifest, parseManifest } from '../manifest/manifest-schema.ts';
import { startTestFleet } from '../../test/helpers/router-fleet-fixture.ts';
import { tempDir } from '../../test/helpers/shard-fixture.ts';

async function routerOn(t: TestContext, manifest: string, extra: Record<string, unknown> = {}): Promise<RunningRouter> {
  const router = await startRouter(parseRouterConfig({ port: 0, manifest, logLevel: 'silent', healthProbe: { intervalMs: 0 }, ...extra }), { log: createRouterLogger('silent') });
  t.after(() => router.close());
  return router;
}

/** A real upstream standing in for a shard: echoes what it received; /sse streams on the test's signal. */
async function echoUpstream(t: TestContext) {
  let connections = 0;
  let releaseNext: (() => void) | undefined;
  const seen: IncomingMessage[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    seen.push(req);
    if (req.url === '/v1/sse') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write('data: one\n\n');
      releaseNext = () => res.end('data: two\n\ndata: [DONE]\n\n');
      return;
    }
    if (req.url === '/v1/slow') return; // never answers
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'set-cookie': ['a=1', 'b=2'] });
      res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, bytes }));
    });
  });
  server.on('connection', () => (connections += 1));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dir = tempDir(t, 'ocmu-echo-');
  const manifestPath = join(dir, 'manifest.json');
  writeFileSync(manifestPath, serializeManifest(parseManifest({ version: 1, shards: [{ id: 'e1', url, weight: 1 }] })));
  return { url, manifestPath, seen, connections: () => connections, release: () => releaseNext?.() };
}

const TOKEN = `tk_acme_${'a'.repeat(32)}`;

void test('forwards with keep-alive pools, x-forwarded-for, a request id, and multiple set-cookie headers', async (t) => {
  const up = await echoUpstream(t);
  const router = await routerOn(t, up.manifestPath);
  for (let i = 0; i < 5; i++) {
    const res = await fetch(`${router.url}/v1/models?x=${i}`, { headers: { authorization: `Bearer ${TOKEN}`, 'x-forwarded-for': '6.6.6.6', connection: 'keep-alive' } });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { url: string; headers: Record<string, string> };
    assert.equal(body.url, `/v1/models?x=${i}`);
    assert.equal(body.headers['x-forwarded-for'], '127.0.0.1', 'a client-supplied x-forwarded-for is replaced');
    assert.equal(body.headers['authorization'], `Bearer ${TOKEN}`);
    assert.match(body.headers['x-request-id'] ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(res.headers.get('x-request-id'), body.headers['x-request-id']);
    assert.equal(res.headers.get('x-openclawmu-shard'), 'e1');
    assert.deepEqual(res.headers.getSetCookie(), ['a=1', 'b=2']);
  }
  assert.equal(up.connections(), 1, 'five sequential requests shared one upstream connection');
});

void test('SSE through the router arrives chunk by chunk, not at the end', async (t) => {
  const up = await echoUpstream(t);
  const router = await routerOn(t, up.manifestPath);
  const res = await fetch(`${router.url}/v1/sse`, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/event-stream');
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const dec = new TextDecoder();
  // The upstream writes the second event only after we have seen the first through the router:
  // if the router buffered the response, this read would never complete (the test would time out).
  const first = await reader.read();
  assert.equal(dec.decode(first.value), 'data: one\n\n');
  up.release();
  let rest = '';
  for (;;) {
    const r = await reader.read();
    if (r.done) break;
    rest += dec.decode(r.value);
  }
  assert.equal(rest, 'data: two\n\ndata: [DONE]\n\n');
});

void test('request bodies stream to the shard; over the limit → 413', async (t) => {
  const up = await echoUpstream(t);
  const router = await routerOn(t, up.manifestPath, { limits: { maxBodyBytes: 4 * 1024 * 1024 } });
  const big = new Uint8Array(3 * 1024 * 1024).fill(65);
  const ok = await fetch(`${router.url}/v1/files`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: big });
  assert.equal(ok.status, 200);
  assert.equal(((await ok.json()) as { bytes: number }).bytes, big.length);
  // Chunked (no content-length) and too large: refused while streaming.
  const huge = new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0; i < 5; i++) c.enqueue(new Uint8Array(1024 * 1024));
      c.close();
    },
  });
  const refused = await fetch(`${router.url}/v1/files`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: huge, duplex: 'half' } as RequestInit);
  assert.equal(refused.status, 413);
});

void test('an upstream that does not answer in time → 504 ROUTER_UPSTREAM_TIMEOUT', async (t) => {
  const up = await echoUpstream(t);
  const router = await routerOn(t, up.manifestPath, { limits: { headersTimeoutMs: 200 } });
  const res = await fetch(`${router.url}/v1/slow`, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(res.status, 504);
  assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'ROUTER_UPSTREAM_TIMEOUT');
});

void test('real shards: WebSocket pass-through to the owner, and metrics with per-shard labels', async (t) => {
  const fleet = await startTestFleet(t, 2);
  const router = await routerOn(t, fleet.manifestPath, { adminKeyHashes: [] });
  const created = await fetch(`${router.url}/v1/tenants`, { method: 'POST', headers: { authorization: `Bearer ${fleet.adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ id: 'wsuser' }) });
  assert.equal(created.status, 201);
  const { token, shard } = (await created.json()) as { token: string; shard: string };

  // Token as a Sec-WebSocket-Protocol entry (browsers cannot set Authorization).
  const ws = new WebSocket(`${router.url.replace('http', 'ws')}/ws`, ['openclawmu.v1', token]);
  t.after(() => ws.terminate());
  await once(ws, 'open');
  assert.equal(ws.protocol, 'openclawmu.v1');
  ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'health' }));
  const [msg] = (await once(ws, 'message')) as [Buffer];
  const reply = JSON.parse(msg.toString()) as { result: { tenant: string; shard: string } };
  assert.deepEqual([reply.result.tenant, reply.result.shard], ['wsuser', shard]);
  ws.close();
  await once(ws, 'close');

  // No tenant on the upgrade → refused by the router itself.
  const anon = new WebSocket(`${router.url.replace('http', 'ws')}/ws`);
  anon.on('error', () => {});
  const [, res] = (await once(anon, 'unexpected-response')) as [unknown, IncomingMessage];
  assert.equal(res.statusCode, 401);
  anon.terminate();

  const metrics = await (await fetch(`${router.url}/metrics`)).text();
  assert.match(metrics, new RegExp(`openclawmu_router_upstream_duration_seconds_count\\{shard="${shard}",status_class="2xx"\\} [1-9]`));
  assert.match(metrics, /openclawmu_router_manifest_version 1/);
  assert.match(metrics, /openclawmu_router_ws_upgrades_total\{outcome="piped"\} 1/);
  assert.ok(!metrics.includes('wsuser'), 'no tenant id in metrics');
  // Fleet routes are refused when the router has no admin key configured.
  assert.equal((await fetch(`${router.url}/v1/fleet`, { headers: { authorization: `Bearer ${fleet.adminKey}` } })).status, 401);
});

void test('the router picks up a new manifest by polling, and a broken one leaves the old in place', async (t) => {
  const up = await echoUpstream(t);
  const router = await routerOn(t, up.manifestPath, { pollIntervalMs: 100 });
  writeFileSync(up.manifestPath, '{"version": 9, "shards": [{"id": "x"}]}');
  const deadline = Date.now() + 5000;
  while (router.poller.status().invalidTotal === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(router.poller.status().invalidTotal > 0, true);
  assert.equal((await fetch(`${router.url}/v1/models`, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200, 'still serving on the last good copy');
  const metrics = await (await fetch(`${router.url}/metrics`)).text();
  assert.match(metrics, /openclawmu_router_manifest_invalid_total [1-9]/);
  writeFileSync(up.manifestPath, serializeManifest(parseManifest({ version: 2, shards: [{ id: 'e1', url: up.url }] })));
  while (router.poller.current()?.version !== 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(router.poller.current()?.version, 2);
});

void test('regression: discarding a 421 body in the Node adapter does not crash the process (Readable.toWeb cancel bug)', async (t) => {
  const { initPlacement } = await import('../placement/rendezvous.ts');
  const p = await initPlacement();
  const fleet = await startTestFleet(t, 2);
  const all = fleet.writeManifest(1);
  const router = await routerOn(t, fleet.manifestPath, { pollIntervalMs: 3_600_000 });
  const id = Array.from({ length: 100 }, (_, i) => `mv${i}`).find((x) => p.ownerOf(x, all) === 's2') as string;
  const created = await fetch(`${router.url}/v1/tenants`, { method: 'POST', headers: { authorization: `Bearer ${fleet.adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ id }) });
  const { token } = (await created.json()) as { token: string };
  // The router now believes only s1 exists; s1 has a tombstone pointing at s2.
  fleet.writeManifest(2, ['s1']);
  await router.poller.refresh();
  await fleet.shards[0]!.admin(`/v1/tenants/${id}/moved`, { body: { owner: 's2', epoch: 2 } });
  fleet.writeManifest(3);
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${router.url}/rpc`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"jsonrpc":"2.0","id":1,"method":"health"}' });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { result: { shard: string } }).result.shard, 's2');
  }
  assert.equal(router.poller.current()?.version, 3);
});

void test('a shard that stops answering (a cut link): its health probes fail, waiting requests end and new ones get 503 ROUTER_SHARD_UNREACHABLE at once; it recovers when it answers', async (t) => {
  // A "shard" whose host accepts TCP but answers nothing while `silent` (as a partitioned host would look
  // to an established keep-alive connection), and answers normally otherwise.
  let silent = false;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (silent) return;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ url: req.url }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const manifestPath = join(tempDir(t, 'ocmu-cut-'), 'manifest.json');
  writeFileSync(manifestPath, serializeManifest(parseManifest({ version: 1, shards: [{ id: 'c1', url, weight: 1 }] })));
  const router = await routerOn(t, manifestPath, { healthProbe: { intervalMs: 100, timeoutMs: 200, failures: 2 } });
  const call = (): Promise<Response> => fetch(`${router.url}/v1/models`, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal((await call()).status, 200);

  silent = true;
  const started = Date.now();
  const waiting = await call(); // sent before the probes notice: ended when they do
  assert.equal(waiting.status, 503);
  assert.equal(((await waiting.json()) as { error: { code: string } }).error.code, 'ROUTER_SHARD_UNREACHABLE');
  assert.ok(Date.now() - started < 5_000, `ended after ${Date.now() - started} ms`);
  const next = await call();
  assert.equal(next.status, 503);
  assert.equal(next.headers.get('retry-after'), '1');
  assert.deepEqual(((await next.json()) as { error: { details: unknown } }).error.details, { shard: 'c1' });

  silent = false;
  server.closeAllConnections(); // the stuck connections of the "partition" are gone with it
  let back = await call();
  const deadline = Date.now() + 10_000;
  while (back.status !== 200 && Date.now() < deadline) {
    await back.body?.cancel();
    await new Promise((r) => setTimeout(r, 50));
    back = await call();
  }
  assert.equal(back.status, 200, 'serving again once a probe is answered');
});
