// Every way an HTTP/1.1 client frames a request body reaches the shard through the router, on the
// core path and the fast path, and a body the shard refuses comes back as the shard's 413 (issue 11 item 8).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest } from 'node:http';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { startRouter, createRouterLogger, type RunningRouter } from './start-router.ts';
import { parseRouterConfig } from './router-config.ts';
import { serializeManifest, parseManifest } from '../manifest/manifest-schema.ts';
import { startTestFleet, type TestFleet } from '../../test/helpers/router-fleet-fixture.ts';
import { tempDir } from '../../test/helpers/shard-fixture.ts';

type Framing = 'content-length' | 'chunked' | 'expect+content-length' | 'expect+chunked';
const FRAMINGS: readonly Framing[] = ['content-length', 'chunked', 'expect+content-length', 'expect+chunked'];

interface Answer {
  readonly status: number;
  readonly body: string;
}

/** Sends a request the way curl and browsers frame bodies: a length, chunks, and/or `Expect: 100-continue`. */
function send(url: string, method: string, headers: Record<string, string>, body: Buffer, framing: Framing): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const h: Record<string, string> = { ...headers };
    if (framing.includes('content-length')) h['content-length'] = String(body.length);
    else h['transfer-encoding'] = 'chunked';
    if (framing.startsWith('expect')) h['expect'] = '100-continue';
    const req = httpRequest(url, { method, headers: h }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    const write = (): void => {
      for (let at = 0; at < body.length; at += 64 * 1024) req.write(body.subarray(at, at + 64 * 1024));
      req.end();
    };
    // With Expect the body waits for 100 Continue; a final answer instead (413) ends the exchange.
    if (framing.startsWith('expect')) req.once('continue', write);
    else write();
  });
}

interface Setup {
  fleet: TestFleet;
  routers: { name: string; router: RunningRouter }[];
  token: string;
  tenant: string;
}

async function setup(t: TestContext): Promise<Setup> {
  const fleet = await startTestFleet(t, 1);
  const routers: Setup['routers'] = [];
  for (const fastPath of [false, true]) {
    const router = await startRouter(parseRouterConfig({ port: 0, manifest: fleet.manifestPath, logLevel: 'silent', fastPath }), { log: createRouterLogger('silent') });
    t.after(() => router.close());
    routers.push({ name: fastPath ? 'fast path' : 'core path', router });
  }
  const created = await fetch(`${routers[0]!.router.url}/v1/tenants`, { method: 'POST', headers: { authorization: `Bearer ${fleet.adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ id: 'bodies' }) });
  assert.equal(created.status, 201);
  const { token } = (await created.json()) as { token: string };
  return { fleet, routers, token, tenant: 'bodies' };
}

const rpc = (id: number): Buffer => Buffer.from(JSON.stringify({ jsonrpc: '2.0', id, method: 'health' }));

void test('regression issue 11 item 8: Expect: 100-continue, chunked tenant calls and admin PATCHes reach the shard (no 502 UND_ERR_NOT_SUPPORTED)', async (t) => {
  const s = await setup(t);
  for (const { name, router } of s.routers) {
    const expectRpc = await send(`${router.url}/rpc`, 'POST', { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' }, rpc(1), 'expect+content-length');
    assert.equal(expectRpc.status, 200, `${name}: ${expectRpc.body}`);
    const chunkedRpc = await send(`${router.url}/rpc`, 'POST', { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' }, rpc(2), 'expect+chunked');
    assert.equal(chunkedRpc.status, 200, `${name}: ${chunkedRpc.body}`);
    const patch = await send(`${router.url}/v1/tenants/${s.tenant}`, 'PATCH', { authorization: `Bearer ${s.fleet.adminKey}`, 'content-type': 'application/json' }, Buffer.from(JSON.stringify({ displayName: name })), 'expect+chunked');
    assert.equal(patch.status, 200, `${name}: ${patch.body}`);
    assert.equal((JSON.parse(patch.body) as { displayName: string }).displayName, name);
  }
});

void test('regression issue 11 item 8: a 2 MB body gets the shard\'s 413, never 502 EPIPE, however it is framed', async (t) => {
  const s = await setup(t);
  const big = Buffer.alloc(2 * 1024 * 1024, 0x41);
  for (const { name, router } of s.routers) {
    const seen = new Map<string, number>();
    for (let i = 0; i < 12; i++) {
      for (const framing of FRAMINGS) {
        const res = await send(`${router.url}/rpc`, 'POST', { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' }, big, framing);
        const key = `${framing} → ${res.status} ${(JSON.parse(res.body) as { error?: { code?: string } }).error?.code ?? ''}`;
        seen.set(key, (seen.get(key) ?? 0) + 1);
      }
    }
    assert.deepEqual([...seen.keys()].sort(), FRAMINGS.map((f) => `${f} → 413 BODY_TOO_LARGE`).sort(), `${name}: ${JSON.stringify([...seen])}`);
  }
});

void test('every framing of a valid body arrives whole at the shard, on both paths', async (t) => {
  // An upstream that reports what it received, so sizes past the shard's own limit can be checked.
  const server = createServer((req, res) => {
    const hash = createHash('sha256');
    let bytes = 0;
    req.on('data', (c: Buffer) => {
      bytes += c.length;
      hash.update(c);
    });
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ bytes, sha256: hash.digest('hex'), expect: req.headers['expect'] ?? null })));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const dir = tempDir(t, 'ocmu-bodies-');
  const manifestPath = join(dir, 'manifest.json');
  writeFileSync(manifestPath, serializeManifest(parseManifest({ version: 1, shards: [{ id: 'e1', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, weight: 1 }] })));
  const token = `tk_acme_${'a'.repeat(32)}`;
  for (const fastPath of [false, true]) {
    const router = await startRouter(parseRouterConfig({ port: 0, manifest: manifestPath, logLevel: 'silent', fastPath }), { log: createRouterLogger('silent') });
    t.after(() => router.close());
    for (const framing of FRAMINGS) {
      for (const size of [0, 10, 1024 * 1024 - 1, 1024 * 1024 + 1, 3 * 1024 * 1024]) {
        const body = Buffer.alloc(size, size % 251);
        const res = await send(`${router.url}/v1/files`, 'POST', { authorization: `Bearer ${token}` }, body, framing);
        assert.equal(res.status, 200, `fastPath=${fastPath} ${framing} ${size}: ${res.body.slice(0, 200)}`);
        assert.deepEqual(JSON.parse(res.body), { bytes: size, sha256: createHash('sha256').update(body).digest('hex'), expect: null }, `fastPath=${fastPath} ${framing} ${size}`);
      }
    }
  }
});
