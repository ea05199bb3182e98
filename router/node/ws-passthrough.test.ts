// WebSocket upgrades through a real router to fake shards: 421 → refresh and retry at the owner,
// 503-frozen → hold and retry, the hop and hold limits, and bytes that follow the 101 in one write.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import { startRouter, createRouterLogger, type RunningRouter } from './start-router.ts';
import { parseRouterConfig } from './router-config.ts';
import { parseManifest, type Manifest, type ManifestInput } from '../manifest/manifest-schema.ts';
import type { ManifestSource } from '../manifest/manifest-source.ts';
import { mintTenantToken } from '../identity/tenant-id.ts';

const TENANT = 'wsmover';
const TOKEN = mintTenantToken(TENANT);

type OnUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer, nth: number) => void;

interface FakeShard {
  readonly url: string;
  upgrades(): number;
}

/** A real http server standing in for a shard; `onUpgrade` decides how it answers each upgrade. */
async function fakeShard(t: TestContext, onUpgrade: OnUpgrade): Promise<FakeShard> {
  const sockets = new Set<Duplex>();
  let upgrades = 0;
  const server = createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    sockets.add(socket);
    socket.on('error', () => socket.destroy());
    upgrades += 1;
    onUpgrade(req, socket, head, upgrades);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    // Upgraded sockets leave the server's bookkeeping: end them here.
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, upgrades: () => upgrades };
}

const misdirected =
  (owner?: string): OnUpgrade =>
  (_req, socket) =>
    socket.end(`HTTP/1.1 421 Misdirected Request\r\n${owner === undefined ? '' : `x-openclawmu-owner: ${owner}\r\n`}connection: close\r\ncontent-length: 0\r\n\r\n`);

const FROZEN = 'HTTP/1.1 503 Service Unavailable\r\nx-openclawmu-frozen: 1\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: 0\r\n\r\n';

/** A real WebSocket handshake (the `ws` server) that echoes every message. */
function echo(): OnUpgrade {
  const wss = new WebSocketServer({ noServer: true });
  return (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (m, isBinary) => ws.send(m, { binary: isBinary })));
}

/** A manifest source the test rewrites; the router only sees a new copy when it reads (refresh or poll). */
function manifestSource(initial: ManifestInput): { source: ManifestSource; set(m: ManifestInput): void } {
  let manifest: Manifest = parseManifest(initial);
  return {
    source: {
      url: 'test://manifest',
      read: (etag) => Promise.resolve(etag === `"${manifest.version}"` ? 'not-modified' : { manifest, etag: `"${manifest.version}"` }),
      close: () => Promise.resolve(),
    },
    set: (m) => void (manifest = parseManifest(m)),
  };
}

async function routerWith(t: TestContext, source: ManifestSource, limits: Record<string, number> = {}): Promise<RunningRouter> {
  // No polling: the only manifest reads after start are the refreshes a 421 triggers.
  const config = parseRouterConfig({ port: 0, manifest: 'test://manifest', logLevel: 'silent', pollIntervalMs: 3_600_000, limits });
  const router = await startRouter(config, { log: createRouterLogger('silent'), source });
  t.after(() => router.close());
  return router;
}

function connect(t: TestContext, router: RunningRouter): WebSocket {
  const ws = new WebSocket(`${router.url.replace('http', 'ws')}/ws`, { headers: { authorization: `Bearer ${TOKEN}` } });
  t.after(() => ws.terminate());
  return ws;
}

async function echoes(ws: WebSocket, text: string): Promise<string> {
  await once(ws, 'open');
  ws.send(text);
  const [msg] = (await once(ws, 'message')) as [Buffer];
  return msg.toString();
}

async function refusal(ws: WebSocket): Promise<{ status: number | undefined; headers: IncomingMessage['headers']; code: string }> {
  ws.on('error', () => {});
  const [, res] = (await once(ws, 'unexpected-response')) as [unknown, IncomingMessage];
  let body = '';
  for await (const chunk of res) body += (chunk as Buffer).toString();
  return { status: res.statusCode, headers: res.headers, code: (JSON.parse(body) as { error: { code: string } }).error.code };
}

async function metricsOf(router: RunningRouter): Promise<string> {
  return (await fetch(`${router.url}/metrics`)).text();
}

void test('stale manifest: shard A answers the upgrade 421 owner=b, the router refreshes and the socket opens on B', { timeout: 10_000 }, async (t) => {
  const a = await fakeShard(t, misdirected('b'));
  const b = await fakeShard(t, echo());
  const shards = [
    { id: 'a', url: a.url },
    { id: 'b', url: b.url },
  ];
  const m = manifestSource({ version: 1, shards, overrides: { [TENANT]: { shard: 'a', epoch: 1 } } });
  const router = await routerWith(t, m.source);
  // The move has committed in the store; the router still holds version 1.
  m.set({ version: 2, shards, overrides: { [TENANT]: { shard: 'b', epoch: 2 } } });

  assert.equal(await echoes(connect(t, router), 'ping through b'), 'ping through b');
  assert.deepEqual([a.upgrades(), b.upgrades()], [1, 1]);
  assert.equal(router.poller.current()?.version, 2, 'the 421 refreshed the manifest');
  const metrics = await metricsOf(router);
  assert.match(metrics, /openclawmu_router_retries_total\{reason="misdirected"\} 1/);
  assert.match(metrics, /openclawmu_router_ws_upgrades_total\{outcome="piped"\} 1/);
});

void test('frozen tenant: the upgrade is held through two 503-frozen answers and opens on the third try', { timeout: 10_000 }, async (t) => {
  const open = echo();
  const s1 = await fakeShard(t, (req, socket, head, nth) => (nth <= 2 ? socket.end(FROZEN) : open(req, socket, head, nth)));
  const router = await routerWith(t, manifestSource({ version: 1, shards: [{ id: 's1', url: s1.url }] }).source);

  assert.equal(await echoes(connect(t, router), 'after the move'), 'after the move');
  assert.equal(s1.upgrades(), 3);
  const metrics = await metricsOf(router);
  assert.match(metrics, /openclawmu_router_retries_total\{reason="frozen"\} 1/);
  assert.match(metrics, /openclawmu_router_holds_total\{outcome="released"\} 1/);
});

void test('hop limit: shards that keep answering 421 → the client gets ROUTER_TOO_MANY_HOPS after maxHops retries', { timeout: 10_000 }, async (t) => {
  const a = await fakeShard(t, misdirected('b'));
  const b = await fakeShard(t, misdirected('a'));
  const m = manifestSource({ version: 1, shards: [{ id: 'a', url: a.url }, { id: 'b', url: b.url }], overrides: { [TENANT]: { shard: 'a', epoch: 1 } } });
  const router = await routerWith(t, m.source, { maxHops: 2 });

  const refused = await refusal(connect(t, router));
  assert.deepEqual([refused.status, refused.code], [508, 'ROUTER_TOO_MANY_HOPS']);
  assert.equal(refused.headers['x-openclawmu-error-source'], 'router');
  assert.equal(a.upgrades() + b.upgrades(), 3, 'the first try and two hops');
  assert.match(await metricsOf(router), /openclawmu_router_ws_upgrades_total\{outcome="refused"\} 1/);
});

void test('a 421 without an owner hint follows placement in the refreshed manifest', { timeout: 10_000 }, async (t) => {
  const a = await fakeShard(t, misdirected());
  const b = await fakeShard(t, echo());
  const shards = [
    { id: 'a', url: a.url },
    { id: 'b', url: b.url },
  ];
  const m = manifestSource({ version: 1, shards, overrides: { [TENANT]: { shard: 'a', epoch: 1 } } });
  const router = await routerWith(t, m.source);
  m.set({ version: 2, shards, overrides: { [TENANT]: { shard: 'b', epoch: 2 } } });

  assert.equal(await echoes(connect(t, router), 'no hint'), 'no hint');
  assert.deepEqual([a.upgrades(), b.upgrades()], [1, 1]);
});

void test('hold expiry: a tenant frozen past holdLimitMs → 503 ROUTER_HOLD_EXPIRED with retry-after: 1', { timeout: 10_000 }, async (t) => {
  const s1 = await fakeShard(t, (_req, socket) => socket.end(FROZEN));
  const router = await routerWith(t, manifestSource({ version: 1, shards: [{ id: 's1', url: s1.url }] }).source, { holdLimitMs: 300 });

  const started = performance.now();
  const refused = await refusal(connect(t, router));
  assert.deepEqual([refused.status, refused.code, refused.headers['retry-after']], [503, 'ROUTER_HOLD_EXPIRED', '1']);
  assert.ok(performance.now() - started >= 300, 'held for the whole limit');
  // Backoff 50, 100, 150 (cut at the limit) ms: a few tries, not a busy loop.
  assert.ok(s1.upgrades() >= 2 && s1.upgrades() <= 6, `tried ${s1.upgrades()} times`);
  assert.match(await metricsOf(router), /openclawmu_router_holds_total\{outcome="expired"\} 1/);
});

void test('bytes the shard sends in the same write as its 101 reach the client', { timeout: 10_000 }, async (t) => {
  const s1 = await fakeShard(t, (req, socket) => {
    const accept = createHash('sha1').update(`${String(req.headers['sec-websocket-key'])}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    const hello = Buffer.from('hello before anything');
    const frame = Buffer.concat([Buffer.from([0x81, hello.length]), hello]); // FIN + text, unmasked (server → client)
    socket.write(Buffer.concat([Buffer.from(`HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${accept}\r\n\r\n`), frame]));
  });
  const router = await routerWith(t, manifestSource({ version: 1, shards: [{ id: 's1', url: s1.url }] }).source);

  const ws = connect(t, router);
  const [msg] = (await once(ws, 'message')) as [Buffer];
  assert.equal(msg.toString(), 'hello before anything');
});

void test('a client that leaves while the router waits for the shard: the upstream socket is closed too', { timeout: 10_000 }, async (t) => {
  let seen: (socket: Duplex) => void = () => {};
  const upstreamSocket = new Promise<Duplex>((r) => (seen = r));
  const s1 = await fakeShard(t, (_req, socket) => seen(socket)); // never answers
  const router = await routerWith(t, manifestSource({ version: 1, shards: [{ id: 's1', url: s1.url }] }).source);

  const ws = connect(t, router);
  ws.on('error', () => {});
  const socket = await upstreamSocket;
  const ended = once(socket, 'end');
  ws.terminate();
  await ended;
});

void test('a shard that accepts the upgrade but never answers → 504 ROUTER_UPSTREAM_TIMEOUT after upgradeTimeoutMs', { timeout: 10_000 }, async (t) => {
  let ended: Promise<unknown> | undefined;
  const s1 = await fakeShard(t, (_req, socket) => void (ended = once(socket, 'end'))); // never answers
  const router = await routerWith(t, manifestSource({ version: 1, shards: [{ id: 's1', url: s1.url }] }).source, { upgradeTimeoutMs: 300 });
  const refused = await refusal(connect(t, router));
  assert.equal(refused.status, 504);
  assert.equal(refused.code, 'ROUTER_UPSTREAM_TIMEOUT');
  assert.ok(ended !== undefined, 'the shard got the upgrade');
  await ended; // and the router hung up on it
  assert.match(await metricsOf(router), /openclawmu_router_ws_upgrades_total\{outcome="failed"\} 1/);
});
