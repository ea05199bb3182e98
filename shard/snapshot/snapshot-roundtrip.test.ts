// A tenant directory survives snapshot → blob store → staged restore → commit, byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { isAppError, openBlobStore, type BlobStore } from '../../router/index.ts';
import { writeSnapshot } from './snapshot-writer.ts';
import { stageRestore } from './snapshot-restore.ts';
import { commitStaged } from './commit-staged.ts';
import { parseSnapshotManifest } from './snapshot-manifest.ts';
import { listTree, sha256File } from './tenant-tree.ts';
import { startS3rver } from '../../router/blob/s3-test-servers.ts';
import { randomBytes } from 'node:crypto';

interface Fixture {
  root: string;
  dataDir: string;
  tenantDir: string;
  store: BlobStore;
}

function fixture(t: { after: (fn: () => unknown) => void }): Fixture {
  const root = mkdtempSync(join(tmpdir(), 'ocm-snap-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const dataDir = join(root, 'data');
  const tenantDir = join(dataDir, 'tenants', 'acme');
  mkdirSync(join(tenantDir, 'channels'), { recursive: true });
  mkdirSync(join(tenantDir, 'sandbox', 'deep', 'er'), { recursive: true });
  mkdirSync(join(tenantDir, 'plugins'), { recursive: true }); // an empty directory is kept too
  writeFileSync(join(tenantDir, 'tenant.json'), JSON.stringify({ id: 'acme', epoch: 3 }));
  writeFileSync(join(tenantDir, 'config.yaml'), 'model: openai/gpt-4o-mini\n');
  writeFileSync(join(tenantDir, 'channels', 'slack.yaml'), 'token: xoxb-not-a-real-one\n');
  writeFileSync(join(tenantDir, 'sandbox', 'deep', 'er', 'notes.txt'), 'hello\n'.repeat(1000));
  symlinkSync('/etc/passwd', join(tenantDir, 'sandbox', 'passwd-link'));
  const store = openBlobStore(pathToFileURL(join(root, 'blobs')).href);
  t.after(() => store.close());
  return { root, dataDir, tenantDir, store };
}

function openState(tenantDir: string): Database.Database {
  const db = new Database(join(tenantDir, 'state.db'));
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
  return db;
}

void test('snapshot and restore round-trip a tenant: files, live WAL database, empty dirs; links are left out', async (t) => {
  const f = fixture(t);
  const db = openState(f.tenantDir);
  t.after(() => db.close());
  const insert = db.prepare('INSERT INTO messages (body) VALUES (?)');
  for (let i = 0; i < 500; i++) insert.run(`message ${i}`);
  assert.ok(existsSync(join(f.tenantDir, 'state.db-wal')), 'the database is live in WAL mode while the snapshot runs');

  const phases = new Set<string>();
  const snap = await writeSnapshot({
    store: f.store,
    tenantId: 'acme',
    tenantDir: f.tenantDir,
    epoch: 3,
    shardId: 's1',
    scratchDir: join(f.dataDir, 'scratch'),
    onProgress: (p) => phases.add(p.phase),
  });
  assert.match(snap.key, /^tenants\/acme\/snapshots\/\d{8}T\d{9}Z-[0-9a-f]{8}\.tar\.zst$/);
  assert.deepEqual([...phases].sort(), ['copy', 'manifest', 'upload']);
  assert.deepEqual(readdirSync(join(f.dataDir, 'scratch')), [], 'the consistent copy is removed afterwards');

  const manifest = parseSnapshotManifest((await f.store.get(snap.manifestKey))?.body ?? '');
  assert.equal(manifest.epoch, 3);
  assert.equal(manifest.archive.sha256, snap.sha256);
  assert.deepEqual(manifest.databases, ['state.db']);
  assert.ok(!manifest.files.some((x) => x.path.endsWith('-wal') || x.path.endsWith('-shm')), 'WAL/SHM never archived');
  assert.deepEqual(
    manifest.skipped.map((s) => s.kind).sort(),
    ['sqlite-sidecar', 'sqlite-sidecar', 'symlink'],
  );
  assert.ok(manifest.directories.includes('plugins'));

  // Restore under another id, as `--as` does: a staged tree, then one rename into place.
  const staged = await stageRestore({ store: f.store, key: snap.key, stagingRoot: join(f.dataDir, 'staging') });
  const target = join(f.dataDir, 'tenants', 'acme-copy');
  await commitStaged(staged, target);
  assert.deepEqual(readdirSync(join(f.dataDir, 'staging')), [], 'staging is empty after the commit');

  const tree = await listTree(target);
  assert.deepEqual(tree.other, [], 'no symlink comes back');
  assert.ok(tree.directories.includes('plugins'));
  assert.ok(!tree.files.some((x) => x.path.endsWith('-wal') || x.path.endsWith('-shm')));

  const restored = new Database(join(target, 'state.db'), { readonly: true });
  t.after(() => restored.close());
  assert.equal((restored.prepare('SELECT count(*) AS n FROM messages').get() as { n: number }).n, 500);
  assert.equal(restored.pragma('integrity_check', { simple: true }), 'ok');
  for (const rel of ['tenant.json', 'config.yaml', 'channels/slack.yaml', 'sandbox/deep/er/notes.txt']) {
    assert.deepEqual(readFileSync(join(target, rel)), readFileSync(join(f.tenantDir, rel)), rel);
  }
});

void test('the same tree gives the same tar: snapshots of an unchanged directory have equal file hashes', async (t) => {
  const f = fixture(t);
  const a = await writeSnapshot({ store: f.store, tenantId: 'acme', tenantDir: f.tenantDir, epoch: 1, scratchDir: join(f.root, 's') });
  const b = await writeSnapshot({ store: f.store, tenantId: 'acme', tenantDir: f.tenantDir, epoch: 1, scratchDir: join(f.root, 's') });
  assert.notEqual(a.key, b.key);
  assert.equal(a.sha256, b.sha256, 'deterministic archive bytes (sorted entries, no mtime or owner)');
  const keys = (await f.store.list('tenants/acme/snapshots/')).map((o) => o.key);
  assert.equal(keys.length, 4);
});

void test('commitStaged refuses an existing tenant without force, and with force swaps it and removes the old tree', async (t) => {
  const f = fixture(t);
  const snap = await writeSnapshot({ store: f.store, tenantId: 'acme', tenantDir: f.tenantDir, epoch: 1, scratchDir: join(f.root, 's') });
  writeFileSync(join(f.tenantDir, 'config.yaml'), 'changed after the snapshot\n');
  const staging = join(f.dataDir, 'staging');

  const first = await stageRestore({ store: f.store, key: snap.key, stagingRoot: staging });
  await assert.rejects(commitStaged(first, f.tenantDir), (e: unknown) => isAppError(e) && e.code === 'SNAPSHOT_TARGET_EXISTS');
  assert.equal(readFileSync(join(f.tenantDir, 'config.yaml'), 'utf8'), 'changed after the snapshot\n', 'the live tenant is untouched');
  assert.deepEqual(readdirSync(staging), []);

  const second = await stageRestore({ store: f.store, key: snap.manifestKey, stagingRoot: staging });
  await commitStaged(second, f.tenantDir, { force: true });
  assert.equal(readFileSync(join(f.tenantDir, 'config.yaml'), 'utf8'), 'model: openai/gpt-4o-mini\n');
  assert.deepEqual(readdirSync(join(f.dataDir, 'tenants')), ['acme'], 'the old tree is gone once the new one is in place');
  assert.equal((await sha256File(join(f.tenantDir, 'tenant.json'))).size > 0, true);
});

void test('restoring a missing snapshot answers SNAPSHOT_NOT_FOUND', async (t) => {
  const f = fixture(t);
  await assert.rejects(
    stageRestore({ store: f.store, key: 'acme/20260101T000000000Z-00000000', stagingRoot: join(f.root, 'st') }),
    (e: unknown) => isAppError(e) && e.code === 'SNAPSHOT_NOT_FOUND',
  );
  await assert.rejects(
    stageRestore({ store: f.store, key: 'not/a/key', stagingRoot: join(f.root, 'st') }),
    (e: unknown) => isAppError(e) && e.code === 'SNAPSHOT_NOT_FOUND',
  );
});

void test('through an S3 server (s3rver): a multipart snapshot upload and a verified download restore the tenant', async (t) => {
  const f = fixture(t);
  const big = randomBytes(12 * 1024 * 1024); // incompressible: two multipart parts
  writeFileSync(join(f.tenantDir, 'sandbox', 'big.bin'), big);
  const server = await startS3rver();
  t.after(() => server.close());
  await server.createBucket('snaps');
  const store = openBlobStore(`s3://snaps/fleet-a?endpoint=${encodeURIComponent(server.endpoint)}`, { credentials: server.credentials });
  t.after(() => store.close());
  const snap = await writeSnapshot({ store, tenantId: 'acme', tenantDir: f.tenantDir, epoch: 2, scratchDir: join(f.root, 's') });
  assert.ok(snap.bytes > big.length);
  const staged = await stageRestore({ store, key: snap.key, stagingRoot: join(f.dataDir, 'staging') });
  await commitStaged(staged, join(f.dataDir, 'tenants', 'acme-s3'));
  assert.ok(readFileSync(join(f.dataDir, 'tenants', 'acme-s3', 'sandbox', 'big.bin')).equals(big));
});
