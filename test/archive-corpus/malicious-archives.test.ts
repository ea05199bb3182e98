// The malicious-archive corpus: every hostile snapshot is refused with a stable code, nothing lands
// outside the staging directory, the staging directory is left empty, and this process keeps running.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { isAppError, openBlobStore, type BlobStore } from '../../router/index.ts';
import { stageRestore } from '../../shard/snapshot/snapshot-restore.ts';
import type { ArchiveCaps } from '../../shard/snapshot/archive-policy.ts';
import { writeSnapshot } from '../../shard/snapshot/snapshot-writer.ts';
import { craftTar, publishSnapshot, sha256, zstd, type CraftEntry } from './craft-archive.ts';

interface World {
  root: string;
  staging: string;
  outside: string;
  absTarget: string;
  store: BlobStore;
}

function world(t: { after: (fn: () => unknown) => void }): World {
  const root = mkdtempSync(join(tmpdir(), 'ocm-corpus-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const staging = join(root, 'staging');
  const outside = join(root, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'sentinel'), 'untouched');
  const store = openBlobStore(pathToFileURL(join(root, 'blobs')).href);
  t.after(() => store.close());
  return { root, staging, outside, absTarget: join(root, `abs-${randomBytes(4).toString('hex')}`), store };
}

/** Everything under root except the blob store: what a restore could have written. */
function footprint(w: World): string[] {
  const out: string[] = [];
  const walk = (dir: string, rel: string): void => {
    for (const name of readdirSync(dir).sort()) {
      if (rel === '' && name === 'blobs') continue;
      const r = rel === '' ? name : `${rel}/${name}`;
      out.push(r);
      try {
        walk(join(dir, name), r);
      } catch {
        /* a file */
      }
    }
  };
  walk(w.root, '');
  return out;
}

const ok: CraftEntry = { path: 'ok.txt', type: 'file', body: Buffer.from('fine\n') };

async function expectRefused(w: World, key: string, code: string, caps: Partial<ArchiveCaps> = {}): Promise<void> {
  const before = footprint(w);
  await assert.rejects(stageRestore({ store: w.store, key, stagingRoot: w.staging, caps }), (e: unknown) => {
    assert.ok(isAppError(e), `expected an AppError, got ${String(e)}`);
    assert.equal(e.code, code, `${e.code}: ${e.message} ${JSON.stringify(e.details)}`);
    return true;
  });
  const after = footprint(w).filter((p) => p !== 'staging');
  assert.deepEqual(after, before.filter((p) => p !== 'staging'), 'nothing written outside the staging directory');
  if (existsSync(w.staging)) assert.deepEqual(readdirSync(w.staging), [], 'the work directory is discarded');
  assert.equal(existsSync(w.absTarget), false);
}

async function publishTar(w: World, entries: CraftEntry[], opts: Parameters<typeof publishSnapshot>[5] = {}): Promise<string> {
  const t = craftTar(entries);
  return publishSnapshot(w.store, 'acme', zstd(t), t.length, entries, opts);
}

void test('path escapes: ../ and absolute entries are refused (also when only the tar, not the manifest, names them)', async (t) => {
  const w = world(t);
  const evil = '../../../outside/pwned';
  await expectRefused(w, await publishTar(w, [ok, { path: evil, type: 'file', body: Buffer.from('x') }]), 'SNAPSHOT_ARCHIVE_REJECTED');
  await expectRefused(w, await publishTar(w, [ok, { path: `${w.absTarget}/x`, type: 'file', body: Buffer.from('x') }]), 'SNAPSHOT_ARCHIVE_REJECTED');
  await expectRefused(w, await publishTar(w, [ok, { path: 'a/../../x', type: 'file', body: Buffer.from('x') }]), 'SNAPSHOT_ARCHIVE_REJECTED');
  // A manifest that itself lists an escaping path is refused before anything is downloaded.
  const e2: CraftEntry[] = [ok, { path: evil, type: 'file', body: Buffer.from('x') }];
  await expectRefused(w, await publishTar(w, e2, { files: [{ path: evil, size: 1, sha256: sha256(Buffer.from('x')) }] }), 'SNAPSHOT_ARCHIVE_REJECTED');
});

void test('links: symlinks, hardlinks and chains of them are refused, not skipped', async (t) => {
  const w = world(t);
  const cases: CraftEntry[][] = [
    [{ path: 'link', type: 'symlink', linkpath: w.outside }, { path: 'link/pwned', type: 'file', body: Buffer.from('x') }],
    [{ path: 'hl', type: 'hardlink', linkpath: join(w.outside, 'sentinel') }],
    [
      { path: 'a', type: 'symlink', linkpath: 'b' },
      { path: 'b', type: 'symlink', linkpath: '../../../outside' },
      { path: 'a/pwned', type: 'file', body: Buffer.from('x') },
    ],
    [ok, { path: 'h1', type: 'hardlink', linkpath: 'ok.txt' }, { path: 'h2', type: 'hardlink', linkpath: 'h1' }],
    [ok, { path: 'd', type: 'dir' }, { path: 'd/x', type: 'hardlink', linkpath: '../../../../outside/sentinel' }],
  ];
  for (const entries of cases) await expectRefused(w, await publishTar(w, entries), 'SNAPSHOT_ARCHIVE_REJECTED');
});

void test('devices and FIFOs are refused', async (t) => {
  const w = world(t);
  for (const type of ['char', 'block', 'fifo'] as const) {
    await expectRefused(w, await publishTar(w, [ok, { path: `dev-${type}`, type }]), 'SNAPSHOT_ARCHIVE_REJECTED');
  }
});

void test('caps: an entry over the file cap, too many entries, too deep a tree', async (t) => {
  const w = world(t);
  const big: CraftEntry = { path: 'big.bin', type: 'file', body: Buffer.alloc(2 * 1024 * 1024, 7) };
  // The manifest tells the truth about sizes but the cap is 1 MiB: refused before download.
  await expectRefused(w, await publishTar(w, [big]), 'SNAPSHOT_TOO_LARGE', { maxFileBytes: 1024 * 1024 });
  // The manifest lies (lists a small file): the extractor's own check catches the big entry.
  await expectRefused(w, await publishTar(w, [ok, big], { files: [{ path: 'ok.txt', size: 5, sha256: sha256(Buffer.from('fine\n')) }] }), 'SNAPSHOT_TOO_LARGE', {
    maxFileBytes: 1024 * 1024,
  });
  const many: CraftEntry[] = Array.from({ length: 30 }, (_, i) => ({ path: `d${i}`, type: 'dir' as const }));
  await expectRefused(w, await publishTar(w, many), 'SNAPSHOT_TOO_LARGE', { maxEntries: 10 });
  // A manifest that hides the extra entries does not help: each one it does not list is refused.
  await expectRefused(w, await publishTar(w, many, { directories: ['d0'] }), 'SNAPSHOT_ARCHIVE_REJECTED', { maxEntries: 10 });
  const deep = `${Array.from({ length: 40 }, () => 'a').join('/')}/f`;
  const deepEntries: CraftEntry[] = [ok, { path: deep, type: 'file', body: Buffer.from('x') }];
  await expectRefused(w, await publishTar(w, deepEntries), 'SNAPSHOT_TOO_LARGE'); // the manifest's own list is too deep
  await expectRefused(w, await publishTar(w, deepEntries, { files: [{ path: 'ok.txt', size: 5, sha256: sha256(Buffer.from('fine\n')) }] }), 'SNAPSHOT_TOO_LARGE');
});

void test('a zstd bomb is stopped by the byte and ratio caps without buffering its output', async (t) => {
  const w = world(t);
  // 256 MiB of zeros in one tar entry compresses to a few KiB.
  const size = 256 * 1024 * 1024;
  const tarBuf = craftTar([{ path: 'zeros', type: 'file', body: Buffer.alloc(size) }]);
  const bomb = zstd(tarBuf);
  assert.ok(bomb.length < 64 * 1024, `bomb is ${bomb.length} bytes`);
  const files = [{ path: 'zeros', size, sha256: sha256(Buffer.alloc(size)) }];
  // Honest manifest: refused up front by the ratio cap, or by the byte cap.
  await expectRefused(w, await publishSnapshot(w.store, 'acme', bomb, tarBuf.length, [], { files }), 'SNAPSHOT_TOO_LARGE', { maxRatio: 1000 });
  await expectRefused(w, await publishSnapshot(w.store, 'acme', bomb, tarBuf.length, [], { files }), 'SNAPSHOT_TOO_LARGE', { maxTarBytes: 64 * 1024 * 1024 });
  // Lying manifest (claims a tiny tar): the streaming decompressor stops at the claimed size.
  const heapBefore = process.memoryUsage().rss;
  await expectRefused(w, await publishSnapshot(w.store, 'acme', bomb, 4096, [], { files: [{ path: 'zeros', size: 1, sha256: sha256(Buffer.alloc(1)) }], tarBytes: 4096 }), 'SNAPSHOT_TOO_LARGE');
  assert.ok(process.memoryUsage().rss - heapBefore < 128 * 1024 * 1024, 'the bomb never expanded in memory');
});

void test('integrity: a truncated archive, a flipped byte, a file whose content differs from the manifest', async (t) => {
  const w = world(t);
  const tenantDir = join(w.root, 'tenant');
  mkdirSync(tenantDir);
  writeFileSync(join(tenantDir, 'data.bin'), randomBytes(300_000));
  const snap = await writeSnapshot({ store: w.store, tenantId: 'acme', tenantDir, epoch: 1, scratchDir: join(w.root, 'scratch') });
  const archive = (await w.store.get(snap.key))?.body as Buffer;
  const manifest = JSON.parse((await w.store.get(snap.manifestKey))?.body.toString() ?? '{}') as { files: { path: string; size: number; sha256: string }[]; archive: { tarBytes: number } };

  // Truncated in the store, original manifest: the download hash catches it.
  await w.store.put(snap.key, archive.subarray(0, Math.floor(archive.length / 2)));
  await expectRefused(w, snap.key, 'SNAPSHOT_HASH_MISMATCH');
  // Flipped byte, original manifest.
  const flipped = Buffer.from(archive);
  flipped[flipped.length >> 1] = (flipped[flipped.length >> 1] as number) ^ 0xff;
  await w.store.put(snap.key, flipped);
  await expectRefused(w, snap.key, 'SNAPSHOT_HASH_MISMATCH');
  // Truncated, and a manifest re-signed to match it (an attacker who can write both): zstd/tar notice.
  const truncated = archive.subarray(0, Math.floor(archive.length / 2));
  await expectRefused(w, await publishSnapshot(w.store, 'acme', truncated, manifest.archive.tarBytes, [], { files: manifest.files }), 'SNAPSHOT_CORRUPT');
  // A whole zstd stream of a tar cut inside an entry.
  const entries: CraftEntry[] = [{ path: 'f', type: 'file', body: randomBytes(5000) }];
  const cut = craftTar(entries, { truncateAt: 2048 });
  await expectRefused(w, await publishSnapshot(w.store, 'acme', zstd(cut), cut.length, entries), 'SNAPSHOT_CORRUPT');
  // A database that hashes fine but is corrupt inside: integrity_check refuses it.
  const dbFile = join(w.root, 'corrupt.db');
  const db = new Database(dbFile);
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); CREATE INDEX t_v ON t(v)');
  const ins = db.prepare('INSERT INTO t (v) VALUES (?)');
  db.transaction(() => {
    for (let i = 0; i < 2000; i++) ins.run(`value ${i} ${'x'.repeat(50)}`);
  })();
  db.close();
  const bytes = readFileSync(dbFile);
  for (let i = 4096 * 3; i < 4096 * 3 + 400; i++) bytes[i] = 0x55; // scribble over a b-tree page
  const dbEntries: CraftEntry[] = [{ path: 'state.db', type: 'file', body: bytes }];
  await expectRefused(w, await publishTar(w, dbEntries, { databases: ['state.db'] }), 'SNAPSHOT_CORRUPT');
  // Archive hash fine, but a file inside differs from the manifest's file hash.
  await expectRefused(w, await publishTar(w, [ok], { files: [{ path: 'ok.txt', size: 5, sha256: sha256(Buffer.from('FINE\n')) }] }), 'SNAPSHOT_HASH_MISMATCH');
});

void test('formats: a plain tar.gz, a bare tar, nested gzip inside zstd, an unknown manifest version', async (t) => {
  const w = world(t);
  const tarBuf = craftTar([ok]);
  await expectRefused(w, await publishSnapshot(w.store, 'acme', gzipSync(tarBuf), tarBuf.length, [ok]), 'SNAPSHOT_FORMAT_UNSUPPORTED');
  await expectRefused(w, await publishSnapshot(w.store, 'acme', tarBuf, tarBuf.length, [ok]), 'SNAPSHOT_FORMAT_UNSUPPORTED');
  const gz = gzipSync(tarBuf);
  await expectRefused(w, await publishSnapshot(w.store, 'acme', zstd(gz), gz.length, [ok]), 'SNAPSHOT_ARCHIVE_REJECTED');
  await expectRefused(w, await publishTar(w, [ok], { patch: { version: 2 } }), 'SNAPSHOT_FORMAT_UNSUPPORTED');
  await expectRefused(w, await publishTar(w, [ok], { patch: { tenant: 'other' } }), 'SNAPSHOT_CORRUPT');
  await expectRefused(w, await publishTar(w, [ok, ok]), 'SNAPSHOT_ARCHIVE_REJECTED'); // duplicate entry
});

void test('Node 20 crash trap: a file that merely starts with the zstd magic kills tar.x with auto-detection, but our restore refuses it cleanly', async (t) => {
  const w = world(t);
  const fake = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), randomBytes(4096)]);
  const file = join(w.root, 'fake.tar.zst');
  writeFileSync(file, fake);
  // The trap, in a child so that it can only take the child down.
  const script = `import * as tar from 'tar'; import { mkdtempSync } from 'node:fs'; import { tmpdir } from 'node:os';
    const p = tar.x({ file: ${JSON.stringify(file)}, cwd: mkdtempSync(tmpdir() + '/ocm-trap-') });
    p.then(() => console.log('RESOLVED'), (e) => console.log('REJECTED', e.code));`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: process.cwd(), encoding: 'utf8', timeout: 20_000 });
  const zlibHasZstd = 'ZstdDecompress' in (await import('node:zlib'));
  if (!zlibHasZstd) {
    assert.notEqual(child.status, 0, 'node-tar with zstd auto-detection crashes the process on this Node');
    assert.match(child.stderr, /ZstdDecompress|Compression method not supported/);
    assert.doesNotMatch(child.stdout, /RESOLVED|REJECTED/, 'the promise never settles: the process dies first');
  }
  // Ours: same bytes, refused with a code, in this very process.
  await expectRefused(w, await publishSnapshot(w.store, 'acme', fake, 10_000, [ok]), 'SNAPSHOT_CORRUPT');
  assert.ok(process.uptime() > 0, 'still alive');
});

void test('after the whole corpus a genuine snapshot still restores (regression: a one-file tar made the restore hang forever)', async (t) => {
  const w = world(t);
  // This tar (a ~300 KB SQLite file, nothing after the end-of-archive marker) made node-tar's
  // unpacker finish while stream.pipeline() still waited to drain it: the restore hung forever.
  const dbFile = join(w.root, 'genuine.db');
  const db = new Database(dbFile);
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); CREATE INDEX t_v ON t(v)');
  const ins = db.prepare('INSERT INTO t (v) VALUES (?)');
  db.transaction(() => {
    for (let i = 0; i < 2000; i++) ins.run(`value ${i} ${'x'.repeat(50)}`);
  })();
  db.close();
  const big = readFileSync(dbFile);
  const key = await publishTar(w, [{ path: 'state.db', type: 'file', body: big }]);
  const staged = await stageRestore({ store: w.store, key, stagingRoot: w.staging });
  t.after(() => staged.discard());
  assert.deepEqual(readdirSync(staged.dir), ['state.db']);
  assert.ok(readFileSync(join(staged.dir, 'state.db')).equals(big));
});
