// The file:// blob store: the shared contract, plus containment, crash leftovers and the lock lease.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isAppError } from '../errors/app-error.ts';
import { blobStoreContract } from './blob-store-contract.ts';
import { FileBlobStore } from './file-blob-store.ts';
import { openBlobStore } from './open-blob-store.ts';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ocm-fileblob-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

void test('file blob store passes the blob store contract', async (t) => {
  await blobStoreContract(t, async () => openBlobStore(pathToFileURL(tempDir(t)).href));
});

void test('objects are plain files under the root, bookkeeping stays in .blobstore and out of listings', async (t) => {
  const root = tempDir(t);
  const s = new FileBlobStore(root);
  await s.put('fleet/manifest.json', '{"version":1}', { ifNoneMatch: '*' });
  assert.ok(existsSync(join(root, 'fleet', 'manifest.json')));
  assert.deepEqual(readdirSync(join(root, '.blobstore', 'tmp')), [], 'no temp file left behind');
  assert.deepEqual(readdirSync(join(root, '.blobstore', 'locks')), [], 'lock released');
  assert.deepEqual((await s.list('')).map((o) => o.key), ['fleet/manifest.json']);
});

void test('a symlink planted inside the store is not followed', async (t) => {
  const root = tempDir(t);
  const outside = tempDir(t);
  writeFileSync(join(outside, 'secret'), 'outside');
  symlinkSync(outside, join(root, 'link'));
  const s = new FileBlobStore(root);
  await assert.rejects(s.get('link/secret'), (e: unknown) => isAppError(e) && e.code === 'BLOB_IO');
  await assert.rejects(s.put('link/new', 'x'), (e: unknown) => isAppError(e) && e.code === 'BLOB_IO');
  assert.equal(existsSync(join(outside, 'new')), false);
});

void test('a lock abandoned by a crashed writer is broken after its lease; a live one makes writers wait and time out', async (t) => {
  const root = tempDir(t);
  const s = new FileBlobStore(root, { lockLeaseMs: 1000, lockWaitMs: 200 });
  await s.put('k', 'v0');
  const lockDir = join(root, '.blobstore', 'locks');
  mkdirSync(lockDir, { recursive: true });
  const lock = join(lockDir, `${Buffer.from('k').toString('base64url')}.lock`);
  writeFileSync(lock, '{"pid":1}');
  await assert.rejects(s.put('k', 'v1'), (e: unknown) => isAppError(e) && e.code === 'BLOB_IO');
  assert.equal((await s.get('k'))?.body.toString(), 'v0');
  const old = new Date(Date.now() - 10_000);
  utimesSync(lock, old, old);
  await s.put('k', 'v2');
  assert.equal((await s.get('k'))?.body.toString(), 'v2');
});

void test('openBlobStore refuses unsupported and unsafe URLs with BLOB_URL_INVALID', () => {
  for (const bad of [
    'http://example.com/x',
    'not a url',
    'file:///tmp/x?y=1',
    's3://UPPER/x',
    's3://user:pass@bucket/x',
    's3://bucket/x?endpoint=ftp://h',
    's3://bucket/x?endpoint=http://u:p@h:9000',
    's3://bucket/x?secret=1',
    's3://bucket/x?forcePathStyle=yes',
    's3://bucket/a%20b',
    's3://bucket/.hidden/x',
  ]) {
    assert.throws(() => openBlobStore(bad), (e: unknown) => isAppError(e) && e.code === 'BLOB_URL_INVALID', bad);
  }
  const s3 = openBlobStore('s3://bucket/some/prefix/?endpoint=http://127.0.0.1:9000&region=eu-west-1');
  assert.equal(s3.url, 's3://bucket/some/prefix?endpoint=http%3A%2F%2F127.0.0.1%3A9000&region=eu-west-1');
  void s3.close();
});

// Several CLI processes may update the fleet manifest at once: compare-and-swap must lose no update.
const INCREMENTER = `
import { openBlobStore } from './router/index.ts';
const store = openBlobStore(process.argv[1]);
let done = 0;
while (done < 15) {
  const cur = await store.get('counter');
  if (cur === null) throw new Error('no counter');
  try {
    await store.put('counter', String(Number(cur.body.toString()) + 1), { ifMatch: cur.etag });
    done++;
  } catch (err) {
    if (err.code !== 'BLOB_PRECONDITION_FAILED') throw err;
  }
}
`;

void test('compare-and-swap across processes: 4 processes × 15 increments of one object lose no update', async (t) => {
  const root = tempDir(t);
  const url = pathToFileURL(root).href;
  const store = openBlobStore(url);
  t.after(() => store.close());
  await store.put('counter', '0', { ifNoneMatch: '*' });
  const runs = Array.from({ length: 4 }, () =>
    new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', INCREMENTER, url], { cwd: process.cwd(), stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.once('error', reject);
      child.once('exit', (code) => (code === 0 ? resolve(code) : reject(new Error(`incrementer exited ${code}: ${stderr.slice(-500)}`))));
      t.after(() => {
        if (child.exitCode === null) child.kill('SIGKILL');
      });
    }),
  );
  await Promise.all(runs);
  assert.equal((await store.get('counter'))?.body.toString(), '60');
});
