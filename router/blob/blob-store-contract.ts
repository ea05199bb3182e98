// The one contract every BlobStore implementation passes (file://, s3rver, moto): a suite taking a factory.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import { isAppError } from '../errors/app-error.ts';
import type { BlobStore } from './blob-store.ts';

export type BlobStoreFactory = () => Promise<BlobStore>;

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.ok(isAppError(err), `expected an AppError, got ${String(err)}`);
    return err.code;
  }
  return 'no error';
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

export interface ContractOptions {
  /**
   * Why the server cannot make concurrent conditional writes atomic, if it cannot: the two race
   * cases are then skipped with this reason (they run on every store that can, and in lock mode).
   */
  readonly racyConditionalWrites?: string;
}

/** Registers the contract's subtests under `t`, each on a fresh store from `factory`. */
export async function blobStoreContract(t: TestContext, factory: BlobStoreFactory, opts: ContractOptions = {}): Promise<void> {
  const race = opts.racyConditionalWrites === undefined ? {} : { skip: opts.racyConditionalWrites };
  const fresh = async (): Promise<BlobStore> => {
    const store = await factory();
    t.after(() => store.close());
    return store;
  };

  await t.test('put then get round-trips bytes and etag; stat agrees', async () => {
    const s = await fresh();
    const body = randomBytes(3000);
    const { etag } = await s.put('a/b/c.bin', body);
    const got = await s.get('a/b/c.bin');
    assert.ok(got);
    assert.deepEqual(got.body, body);
    assert.equal(got.etag, etag);
    const st = await s.stat('a/b/c.bin');
    assert.equal(st?.size, 3000);
    assert.equal(st?.etag, etag);
    assert.equal(await s.get('a/b/missing'), null);
    assert.equal(await s.stat('a/b/missing'), null);
    assert.equal(await s.get('a/b'), null, 'a prefix is not an object');
  });

  await t.test('overwrite changes the etag; getIfChanged answers not-modified only for the current etag', async () => {
    const s = await fresh();
    const one = await s.put('m.json', '{"v":1}');
    assert.equal(await s.getIfChanged('m.json', one.etag), 'not-modified');
    const two = await s.put('m.json', '{"v":2}');
    assert.notEqual(two.etag, one.etag);
    const changed = await s.getIfChanged('m.json', one.etag);
    assert.ok(changed !== null && changed !== 'not-modified');
    assert.equal(changed.body.toString(), '{"v":2}');
    const first = await s.getIfChanged('m.json', undefined);
    assert.ok(first !== null && first !== 'not-modified');
    assert.equal(await s.getIfChanged('nope.json', undefined), null);
  });

  await t.test('create-only refuses an existing key with BLOB_EXISTS and keeps the first body', async () => {
    const s = await fresh();
    await s.put('once', 'first', { ifNoneMatch: '*' });
    assert.equal(await codeOf(s.put('once', 'second', { ifNoneMatch: '*' })), 'BLOB_EXISTS');
    assert.equal((await s.get('once'))?.body.toString(), 'first');
  });

  await t.test('compare-and-swap: a stale etag is refused with BLOB_PRECONDITION_FAILED', async () => {
    const s = await fresh();
    const v1 = await s.put('fleet/manifest.json', 'v1');
    const v2 = await s.put('fleet/manifest.json', 'v2', { ifMatch: v1.etag });
    assert.equal(await codeOf(s.put('fleet/manifest.json', 'v3', { ifMatch: v1.etag })), 'BLOB_PRECONDITION_FAILED');
    assert.equal((await s.get('fleet/manifest.json'))?.body.toString(), 'v2');
    await s.put('fleet/manifest.json', 'v3', { ifMatch: v2.etag });
    assert.equal((await s.get('fleet/manifest.json'))?.body.toString(), 'v3');
    assert.equal(await codeOf(s.put('absent.json', 'x', { ifMatch: v2.etag })), 'BLOB_PRECONDITION_FAILED');
  });

  await t.test('concurrent create-only writers: exactly one wins', race, async () => {
    const s = await fresh();
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => codeOf(s.put('race', `w${i}`, { ifNoneMatch: '*' }))));
    assert.equal(results.filter((c) => c === 'no error').length, 1, results.join(','));
    assert.equal(results.filter((c) => c === 'BLOB_EXISTS').length, 5, results.join(','));
  });

  await t.test('concurrent compare-and-swap from one etag: exactly one wins', race, async () => {
    const s = await fresh();
    const base = await s.put('cas', 'base');
    const results = await Promise.all(Array.from({ length: 5 }, (_, i) => codeOf(s.put('cas', `w${i}`, { ifMatch: base.etag }))));
    assert.equal(results.filter((c) => c === 'no error').length, 1, results.join(','));
    assert.equal(results.filter((c) => c === 'BLOB_PRECONDITION_FAILED').length, 4, results.join(','));
  });

  await t.test('putStream streams a body of unknown length, reports progress, and getStream reads it back', async () => {
    const s = await fresh();
    const parts = Array.from({ length: 12 }, () => randomBytes(512 * 1024)); // 6 MiB: more than one S3 part
    let progress = 0;
    const res = await s.putStream('big/archive.bin', Readable.from(parts), { onProgress: (n) => (progress = n) });
    const whole = Buffer.concat(parts);
    assert.equal(res.size, whole.length);
    assert.ok(progress > 0);
    const got = await s.getStream('big/archive.bin');
    assert.ok(got);
    assert.equal(got.size, whole.length);
    assert.ok((await readAll(got.stream)).equals(whole));
    assert.equal(await s.getStream('big/nothing'), null);
    assert.equal(await codeOf(s.putStream('big/archive.bin', Readable.from([Buffer.from('x')]), { ifNoneMatch: '*' })), 'BLOB_EXISTS');
  });

  await t.test('list returns objects under a prefix sorted by key; delete is idempotent', async () => {
    const s = await fresh();
    for (const k of ['t/b/2', 't/a/1', 't/b/1', 'u/1', 't-x']) await s.put(k, k);
    assert.deepEqual((await s.list('t/')).map((o) => o.key), ['t/a/1', 't/b/1', 't/b/2']);
    assert.deepEqual((await s.list('t')).map((o) => o.key), ['t-x', 't/a/1', 't/b/1', 't/b/2']);
    assert.deepEqual((await s.list('t/b/')).map((o) => o.size), [5, 5]);
    assert.deepEqual((await s.list('')).map((o) => o.key), ['t-x', 't/a/1', 't/b/1', 't/b/2', 'u/1']);
    await s.delete('t/b/1');
    await s.delete('t/b/1');
    await s.delete('never/was');
    assert.deepEqual((await s.list('t/')).map((o) => o.key), ['t/a/1', 't/b/2']);
  });

  await t.test('invalid keys are refused with BLOB_KEY_INVALID before any I/O', async () => {
    const s = await fresh();
    for (const bad of ['../x', '/abs', 'a/../b', 'a//b', '.hidden', 'a/./b', 'sp ace', 'a\\b', '', 'nul\0']) {
      assert.equal(await codeOf(s.put(bad, 'x')), 'BLOB_KEY_INVALID', bad);
      assert.equal(await codeOf(s.get(bad)), 'BLOB_KEY_INVALID', bad);
    }
  });
}
