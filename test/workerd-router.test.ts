// The router's Workers entry (router/workers/worker.ts) on a real workerd process in front of real
// shards: owners, a 421 followed, a frozen tenant held, SSE chunk by chunk, a WebSocket to /ws, and the
// manifest read from an http URL and from an S3 bucket (SigV4 over fetch).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import WebSocket from 'ws';
import { initPlacement } from '../router/placement/rendezvous.ts';
import { parseManifestText, type Manifest } from '../router/manifest/manifest-schema.ts';
import { startS3rver } from '../router/blob/s3-test-servers.ts';
import { FakeOpenAiUpstream } from './fakes/fake-openai-upstream.ts';
import { startTestFleet, type TestFleet } from './helpers/router-fleet-fixture.ts';
import { createTenant } from './helpers/shard-fixture.ts';
import { startWorkerdRouter, type RunningWorkerd } from './helpers/workerd-fixture.ts';

const placement = await initPlacement();

/** Serves the fleet's manifest file over http with an ETag and 304s, as a static host would. */
async function serveManifest(t: TestContext, fleet: TestFleet): Promise<string> {
  const server = createHttpServer((req, res) => {
    const body = readFileSync(fleet.manifestPath);
    const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"`;
    if (req.headers['if-none-match'] === etag) return void res.writeHead(304, { etag }).end();
    res.writeHead(200, { 'content-type': 'application/json', etag }).end(body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/manifest.json`;
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

async function workerFor(t: TestContext, fleet: TestFleet, extra: Record<string, string> = {}): Promise<RunningWorkerd> {
  return startWorkerdRouter(t, { MANIFEST_URL: await serveManifest(t, fleet), ADMIN_KEY_HASHES: sha256(fleet.adminKey), ...extra });
}

function currentManifest(fleet: TestFleet): Manifest {
  return parseManifestText(readFileSync(fleet.manifestPath, 'utf8'), 'test');
}

async function health(url: string, token: string): Promise<{ status: number; tenant?: string; via: string | null }> {
  const res = await fetch(`${url}/rpc`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'health' }) });
  const via = res.headers.get('x-openclawmu-shard');
  if (res.status !== 200) return { status: res.status, via };
  return { status: 200, tenant: ((await res.json()) as { result: { tenant: string } }).result.tenant, via };
}

/** Waits for a condition that another process makes true (bounded; polls, never sleeps as a signal). */
async function until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

void test('on workerd: creates land on the placement owner and every token reaches its own tenant on its own shard', async (t) => {
  const fleet = await startTestFleet(t, 3);
  const w = await workerFor(t, fleet);
  const ready = await fetch(`${w.url}/readyz`);
  assert.equal(ready.status, 200, w.output.join('\n'));
  assert.equal(((await ready.json()) as { manifestVersion: number }).manifestVersion, 1);
  const manifest = currentManifest(fleet);
  const tokens = new Map<string, string>();
  for (let i = 0; i < 12; i++) {
    const id = `w${i}`;
    const res = await fetch(`${w.url}/v1/tenants`, { method: 'POST', headers: { authorization: `Bearer ${fleet.adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ id }) });
    assert.equal(res.status, 201);
    const body = (await res.json()) as { token: string; shard: string };
    assert.equal(body.shard, placement.ownerOf(id, manifest));
    assert.equal(res.headers.get('x-openclawmu-shard'), body.shard);
    tokens.set(id, body.token);
  }
  assert.equal(new Set([...tokens.keys()].map((id) => placement.ownerOf(id, manifest))).size, 3, 'every shard got tenants');
  for (const [id, token] of tokens) {
    const got = await health(w.url, token);
    assert.deepEqual(got, { status: 200, tenant: id, via: placement.ownerOf(id, manifest) });
  }
  // The fleet-wide routes check the admin key in the worker and fan out with fetch.
  const fleetStatus = (await (await fetch(`${w.url}/v1/fleet`, { headers: { authorization: `Bearer ${fleet.adminKey}` } })).json()) as { tenants: number; shards: { status: string }[] };
  assert.equal(fleetStatus.tenants, 12);
  assert.deepEqual(fleetStatus.shards.map((s) => s.status), ['up', 'up', 'up']);
  assert.equal((await fetch(`${w.url}/v1/fleet`)).status, 401);
});

void test('on workerd: a 421 from a stale owner is followed to the new owner, the manifest refreshed', async (t) => {
  const fleet = await startTestFleet(t, 2);
  const both = currentManifest(fleet);
  const id = Array.from({ length: 100 }, (_, i) => `mv${i}`).find((x) => placement.ownerOf(x, both) === 's2') as string;
  const { token } = await createTenant(fleet.shards[1]!, id);
  // The worker first sees a fleet of s1 alone, and keeps that copy (no re-check for 10 minutes).
  fleet.writeManifest(1, ['s1']);
  const w = await workerFor(t, fleet, { MANIFEST_MAX_AGE_MS: '600000' });
  assert.equal(((await (await fetch(`${w.url}/readyz`)).json()) as { shards: number }).shards, 1);
  // s1 holds a tombstone (as a finished move leaves it) and the manifest now names s2.
  assert.equal((await fleet.shards[0]!.admin(`/v1/tenants/${id}/moved`, { body: { owner: 's2', epoch: 2 } })).status, 200);
  fleet.writeManifest(2);
  assert.deepEqual(await health(w.url, token), { status: 200, tenant: id, via: 's2' });
  assert.equal(fleet.shards[0]!.logs.filter((l) => l.includes('"status":421')).length, 1, 's1 was asked once and answered 421');
  assert.equal(((await (await fetch(`${w.url}/readyz`)).json()) as { manifestVersion: number }).manifestVersion, 2, 'the 421 refreshed the manifest');
});

void test('on workerd: a frozen tenant is held (body kept) and served once it thaws', async (t) => {
  const fleet = await startTestFleet(t, 1);
  const w = await workerFor(t, fleet);
  const owner = fleet.shards[0]!;
  const { token } = await createTenant(owner, 'cold');
  assert.equal((await owner.admin('/v1/tenants/cold/freeze', { method: 'POST' })).status, 200);
  const frozenAnswers = (): number => owner.logs.filter((l) => l.includes('"status":503') && l.includes('"route":"/rpc"')).length;
  const held = fetch(`${w.url}/rpc`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'health' }) });
  await until('the worker to meet the freeze', () => frozenAnswers() >= 1);
  assert.equal((await owner.admin('/v1/tenants/cold/thaw', { method: 'POST' })).status, 200);
  const res = await held;
  assert.equal(res.status, 200);
  const body = (await res.json()) as { id: number; result: { tenant: string } };
  assert.equal(body.id, 7, 'the buffered body was replayed');
  assert.equal(body.result.tenant, 'cold');
});

void test('on workerd: SSE from a shard arrives chunk by chunk, before the stream ends', async (t) => {
  const upstream = await FakeOpenAiUpstream.start({ apiKey: 'sk-up' });
  t.after(() => upstream.close());
  const fleet = await startTestFleet(t, 1, {
    config: { providers: { openai: { kind: 'openai', baseUrl: upstream.baseUrl, apiKey: 'sk-up', allowPrivateNetwork: true, models: ['gpt-fake'], maxRetries: 0 } } },
  });
  const w = await workerFor(t, fleet);
  const { token } = await createTenant(fleet.shards[0]!, 'streamer');
  // The provider sends two words and then holds the rest: those words must arrive before it goes on.
  upstream.setBehaviour({ hangAfterChunks: 2 });
  const res = await fetch(`${w.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'openai/gpt-fake', stream: true, messages: [{ role: 'user', content: 'one two three four' }] }),
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (!/"content":"fake:".*"content":" one"/s.test(text)) {
    const { done, value } = await reader.read();
    assert.equal(done, false, `the stream ended early: ${text}`);
    text += decoder.decode(value, { stream: true });
  }
  assert.ok(!text.includes('[DONE]'), 'the first words arrived while the provider was still holding the rest');
  upstream.resumeHung();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  assert.match(text, /" four".*\[DONE\]\n\n$/s);
});

void test('on workerd: a WebSocket upgrade with the token as a subprotocol reaches /ws on the owner', async (t) => {
  const fleet = await startTestFleet(t, 2);
  const w = await workerFor(t, fleet);
  const manifest = currentManifest(fleet);
  const id = Array.from({ length: 100 }, (_, i) => `ws${i}`).find((x) => placement.ownerOf(x, manifest) === 's2') as string;
  const { token } = await createTenant(fleet.shards[1]!, id);
  const ws = new WebSocket(`${w.url.replace('http', 'ws')}/ws`, ['openclawmu.v1', token]);
  t.after(() => ws.terminate());
  await once(ws, 'open');
  assert.equal(ws.protocol, 'openclawmu.v1');
  ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'health' }));
  const [msg] = (await once(ws, 'message')) as [Buffer];
  const reply = JSON.parse(msg.toString('utf8')) as { id: number; result: { tenant: string; shard: string } };
  assert.deepEqual([reply.id, reply.result.tenant, reply.result.shard], [1, id, 's2']);
  ws.close();
  await once(ws, 'close');
  // No token: refused by the worker itself, before any shard.
  const anon = new WebSocket(`${w.url.replace('http', 'ws')}/ws`);
  anon.on('error', () => {}); // ws reports the refused handshake as an error too
  const [, refused] = (await once(anon, 'unexpected-response')) as [unknown, { statusCode: number }];
  assert.equal(refused.statusCode, 401);
});

void test('on workerd: the manifest read from the fleet S3 bucket with a SigV4-signed GET (signature checked against the AWS SDK in s3-fetch-manifest-source.test.ts)', async (t) => {
  const s3 = await startS3rver();
  t.after(() => s3.close());
  await s3.createBucket('fleet-bucket');
  const fleet = await startTestFleet(t, 2);
  const client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: s3.credentials, requestChecksumCalculation: 'WHEN_REQUIRED' });
  t.after(() => client.destroy());
  await client.send(new PutObjectCommand({ Bucket: 'fleet-bucket', Key: 'prod/fleet/manifest.json', Body: readFileSync(fleet.manifestPath), ContentType: 'application/json' }));
  const url = `s3://fleet-bucket/prod?endpoint=${encodeURIComponent(s3.endpoint)}`;
  const w = await startWorkerdRouter(t, { MANIFEST_URL: url, S3_ACCESS_KEY_ID: s3.credentials.accessKeyId, S3_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey, ADMIN_KEY_HASHES: sha256(fleet.adminKey) });
  const ready = await fetch(`${w.url}/readyz`);
  assert.equal(ready.status, 200, w.output.join('\n'));
  const { token } = await createTenant(fleet.shards[placement.ownerOf('s3t', currentManifest(fleet)) === 's1' ? 0 : 1]!, 's3t');
  assert.equal((await health(w.url, token)).tenant, 's3t');
});
