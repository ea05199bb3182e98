// The manifest: schema, the file/http/blob sources, compare-and-swap writes, and the poller's last-good-copy rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { FileBlobStore } from '../blob/file-blob-store.ts';
import { isAppError } from '../errors/app-error.ts';
import { parseManifest, serializeManifest, parseManifestText, type ManifestInput } from './manifest-schema.ts';
import { fileManifestSource } from './file-manifest-source.ts';
import { httpManifestSource } from './http-manifest-source.ts';
import { blobManifestSource } from './blob-manifest-source.ts';
import { manifestStore } from './manifest-store.ts';
import { createManifestPoller, type ManifestEvent } from './manifest-poller.ts';
import { MANIFEST_KEY } from './manifest-source.ts';

const M1: ManifestInput = {
  version: 1,
  shards: [
    { id: 's1', url: 'http://127.0.0.1:18801/', weight: 1 },
    { id: 's2', url: 'http://127.0.0.1:18802', weight: 2 },
  ],
  overrides: { acme: { shard: 's2', epoch: 4 } },
};

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ocm-manifest-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isAppError(err) ? err.code : 'not-an-AppError';
  }
  return undefined;
}

void test('the schema accepts DESIGN §4 manifests, normalises urls, defaults weight and overrides', () => {
  const m = parseManifest({ version: 3, shards: [{ id: 's1', url: 'http://h:1/' }] });
  assert.deepEqual(m, { version: 3, shards: [{ id: 's1', url: 'http://h:1', weight: 1 }], overrides: {} });
  assert.ok(Object.isFrozen(m) && Object.isFrozen(m.shards[0]));
  assert.deepEqual(parseManifestText(serializeManifest(parseManifest(M1))), parseManifest(M1));
});

void test('the schema refuses bad manifests with MANIFEST_INVALID', () => {
  const bad: unknown[] = [
    null,
    { version: -1, shards: [] },
    { version: 1, shards: [{ id: 'S1', url: 'http://h' }] },
    { version: 1, shards: [{ id: 's1', url: 'ftp://h' }] },
    { version: 1, shards: [{ id: 's1', url: 'http://h', weight: 0 }] },
    { version: 1, shards: [{ id: 's1', url: 'http://h' }, { id: 's1', url: 'http://g' }] },
    { version: 1, shards: [{ id: 's1', url: 'http://h' }], overrides: { acme: { shard: 's9', epoch: 1 } } },
    { version: 1, shards: [{ id: 's1', url: 'http://h' }], overrides: { 'Bad Id': { shard: 's1', epoch: 1 } } },
    { version: 1, shards: [], extra: true },
  ];
  for (const b of bad) assert.equal(codeOf(() => parseManifest(b)), 'MANIFEST_INVALID', JSON.stringify(b));
  assert.equal(codeOf(() => parseManifestText('{not json')), 'MANIFEST_INVALID');
});

void test('file source: conditional reads by content hash; absent → BLOB_NOT_FOUND; invalid → MANIFEST_INVALID', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'manifest.json');
  const src = fileManifestSource(path);
  await assert.rejects(src.read(undefined), (e) => isAppError(e) && e.code === 'BLOB_NOT_FOUND');
  await writeFile(path, serializeManifest(parseManifest(M1)));
  const first = await src.read(undefined);
  assert.notEqual(first, 'not-modified');
  if (first === 'not-modified') return;
  assert.equal(first.manifest.version, 1);
  assert.equal(await src.read(first.etag), 'not-modified');
  await writeFile(path, '{"version": 2, "shards": "nope"}');
  await assert.rejects(src.read(first.etag), (e) => isAppError(e) && e.code === 'MANIFEST_INVALID');
});

void test('http source: sends If-None-Match and honours 304; errors are BLOB_IO / BLOB_NOT_FOUND', async (t) => {
  let body = serializeManifest(parseManifest(M1));
  let status = 200;
  let gen = 1;
  const seen: (string | undefined)[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers['if-none-match']);
    assert.equal(req.headers.authorization, `Basic ${Buffer.from('user:secret').toString('base64')}`);
    const tag = `"v${gen}"`;
    if (status !== 200) return void res.writeHead(status).end();
    if (req.headers['if-none-match'] === tag) return void res.writeHead(304).end();
    res.writeHead(200, { etag: tag, 'content-type': 'application/json' }).end(body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://user:secret@127.0.0.1:${(server.address() as AddressInfo).port}/fleet/manifest.json?sig=abc`;
  const src = httpManifestSource(url);
  assert.ok(!src.url.includes('secret') && !src.url.includes('sig'));
  const a = await src.read(undefined);
  assert.ok(a !== 'not-modified');
  assert.equal(await src.read(a.etag), 'not-modified');
  assert.deepEqual(seen, [undefined, a.etag]);
  body = serializeManifest(parseManifest({ ...M1, version: 2 }));
  gen = 2;
  const b = await src.read(a.etag);
  assert.ok(b !== 'not-modified' && b.manifest.version === 2);
  status = 404;
  await assert.rejects(src.read(undefined), (e) => isAppError(e) && e.code === 'BLOB_NOT_FOUND');
  status = 500;
  await assert.rejects(src.read(undefined), (e) => isAppError(e) && e.code === 'BLOB_IO');
  const dead = httpManifestSource('http://127.0.0.1:1/manifest.json', { timeoutMs: 2000 });
  await assert.rejects(dead.read(undefined), (e) => isAppError(e) && e.code === 'BLOB_IO');
});

void test('manifest store on a file blob store: create-only first write, CAS with version +1, conflicts refused', async (t) => {
  const dir = await tempDir(t);
  const blobs = new FileBlobStore(dir);
  t.after(() => blobs.close());
  const store = manifestStore(blobs);
  assert.equal(await store.read(), null);
  const v1 = await store.write(M1, null);
  await assert.rejects(store.write(M1, null), (e) => isAppError(e) && e.code === 'MANIFEST_CONFLICT');
  // Version must be bumped by exactly one.
  await assert.rejects(store.write({ ...M1, version: 3 }, v1), (e) => isAppError(e) && e.code === 'MANIFEST_INVALID');
  await assert.rejects(store.write({ ...M1, version: 1 }, v1), (e) => isAppError(e) && e.code === 'MANIFEST_INVALID');
  const v2 = await store.write({ ...M1, version: 2 }, v1);
  // A second writer holding the old etag loses (compare-and-swap), and nothing it wrote is kept.
  await assert.rejects(store.write({ ...M1, version: 2, shards: [{ id: 'x', url: 'http://x' }], overrides: {} }, v1), (e) => isAppError(e) && e.code === 'MANIFEST_CONFLICT');
  assert.deepEqual((await store.read())?.manifest, v2.manifest);
  // update() sets the version itself.
  const v3 = await store.update((cur) => ({ ...(cur ?? M1), version: 0, overrides: {} }));
  assert.equal(v3.manifest.version, 3);
  assert.deepEqual(v3.manifest.overrides, {});
  // An invalid proposal is refused and the stored manifest is untouched.
  await assert.rejects(store.update(() => ({ version: 0, shards: [{ id: 'BAD', url: 'http://x' }] })), (e) => isAppError(e) && e.code === 'MANIFEST_INVALID');
  assert.equal((await store.read())?.manifest.version, 3);
});

void test('concurrent update() calls all land, each exactly one version apart', async (t) => {
  const dir = await tempDir(t);
  const blobs = new FileBlobStore(dir);
  t.after(() => blobs.close());
  const store = manifestStore(blobs);
  await store.write({ version: 1, shards: [{ id: 's1', url: 'http://h:1' }] }, null);
  const ids = ['a', 'b', 'c', 'd'];
  await Promise.all(
    ids.map((id) =>
      store.update((cur) => ({ version: 0, shards: cur?.shards ?? [], overrides: { ...(cur?.overrides ?? {}), [id]: { shard: 's1', epoch: 1 } } }), { retries: 10 }),
    ),
  );
  const final = await store.read();
  assert.equal(final?.manifest.version, 5);
  assert.deepEqual(Object.keys(final?.manifest.overrides ?? {}).sort(), ids);
});

void test('blob source reads fleet/manifest.json conditionally', async (t) => {
  const dir = await tempDir(t);
  const blobs = new FileBlobStore(dir);
  const src = blobManifestSource(blobs, { ownsStore: true });
  t.after(() => src.close());
  await assert.rejects(src.read(undefined), (e) => isAppError(e) && e.code === 'BLOB_NOT_FOUND');
  await manifestStore(blobs).write(M1, null);
  const a = await src.read(undefined);
  assert.ok(a !== 'not-modified' && a.manifest.version === 1);
  assert.equal(await src.read(a.etag), 'not-modified');
  assert.ok(src.url.endsWith(MANIFEST_KEY));
});

void test('poller keeps the last good copy when the source turns invalid or unreachable, and counts it', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'manifest.json');
  await writeFile(path, serializeManifest(parseManifest(M1)));
  const events: ManifestEvent[] = [];
  let clock = 1000;
  const poller = createManifestPoller({ source: fileManifestSource(path), intervalMs: 60_000, now: () => clock, onEvent: (e) => events.push(e) });
  t.after(() => poller.close());
  await poller.start();
  assert.equal(poller.current()?.version, 1);
  assert.equal(poller.status().confirmedAt, 1000);

  await writeFile(path, '{"version": 2, "shards": [{"id": "BAD"}]}');
  clock = 2000;
  assert.equal((await poller.refresh())?.version, 1);
  assert.equal(poller.status().invalidTotal, 1);
  assert.equal(poller.status().confirmedAt, 1000);

  await rm(path);
  assert.equal((await poller.refresh())?.version, 1);
  assert.equal(poller.status().unreachableTotal, 1);
  assert.equal(poller.status().lastError?.code, 'BLOB_NOT_FOUND');

  await writeFile(path, serializeManifest(parseManifest({ ...M1, version: 0 })));
  assert.equal((await poller.refresh())?.version, 1, 'a lower version is not taken');

  await writeFile(path, serializeManifest(parseManifest({ ...M1, version: 2 })));
  clock = 3000;
  assert.equal((await poller.refresh())?.version, 2);
  assert.equal(poller.status().confirmedAt, 3000);
  assert.deepEqual(events.map((e) => e.kind), ['loaded', 'invalid', 'unreachable', 'regressed', 'loaded']);
});

void test('poller coalesces concurrent refreshes into one read and polls on its own', async (t) => {
  const dir = await tempDir(t);
  const blobs = new FileBlobStore(dir);
  t.after(() => blobs.close());
  const store = manifestStore(blobs);
  const v1 = await store.write(M1, null);
  let reads = 0;
  const inner = blobManifestSource(blobs);
  const counting = { url: inner.url, close: inner.close, read: (etag: string | undefined) => ((reads += 1), inner.read(etag)) };
  const poller = createManifestPoller({ source: counting, intervalMs: 20 });
  t.after(() => poller.close());
  await poller.start();
  reads = 0;
  await Promise.all([poller.refresh(), poller.refresh(), poller.refresh()]);
  assert.equal(reads, 1);
  await store.write({ ...M1, version: 2 }, v1);
  const deadline = Date.now() + 5000;
  while (poller.current()?.version !== 2 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
  assert.equal(poller.current()?.version, 2, 'the timer picked up the new manifest');
});

void test('a poller whose source never worked has no manifest and does not throw', async (t) => {
  const poller = createManifestPoller({ source: fileManifestSource('/nonexistent/openclawmu/manifest.json'), intervalMs: 60_000 });
  t.after(() => poller.close());
  await poller.start();
  assert.equal(poller.current(), null);
  assert.equal(poller.status().lastError?.code, 'BLOB_NOT_FOUND');
});
