// memory.db opens with sqlite-vec loaded, migrates forward only, and keeps FTS5 in step with chunks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { AppError } from '../../router/errors/app-error.ts';
import { ensureMemorySchema, openMemoryDb } from './memory-db.ts';
import { MEMORY_MIGRATIONS, MEMORY_SCHEMA_VERSION } from './memory-migrations.ts';
import { migrate } from '../tenants/sqlite-open.ts';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ocmu-memdb-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

void test('a new memory.db is WAL, has sqlite-vec loaded and the latest schema', (t) => {
  const path = join(tempDir(t), 'memory.db');
  const db = openMemoryDb(path);
  t.after(() => db.close());
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(db.pragma('user_version', { simple: true }), MEMORY_SCHEMA_VERSION);
  assert.match((db.prepare('SELECT vec_version() AS v').get() as { v: string }).v, /^v0\.1\./);
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type IN ('table') ORDER BY name").all() as { name: string }[]).map((r) => r.name);
  for (const name of ['meta', 'documents', 'chunks', 'chunks_fts', 'embedding_cache', 'vec_indexes']) assert.ok(tables.includes(name), name);
});

void test('reopening applies nothing twice and keeps the data', (t) => {
  const path = join(tempDir(t), 'memory.db');
  const a = openMemoryDb(path);
  a.prepare("INSERT INTO meta (key, value) VALUES ('k', 'v')").run();
  a.close();
  const b = openMemoryDb(path);
  t.after(() => b.close());
  assert.deepEqual(b.prepare("SELECT value FROM meta WHERE key = 'k'").get(), { value: 'v' });
});

void test('migrations are applied in order from an older file', (t) => {
  const path = join(tempDir(t), 'memory.db');
  const raw = new Database(path);
  // An empty database at version 0 (a memory.db created before any migration ran).
  raw.pragma('user_version = 0');
  raw.close();
  const db = openMemoryDb(path);
  t.after(() => db.close());
  assert.equal(db.pragma('user_version', { simple: true }), MEMORY_MIGRATIONS.at(-1)?.version);
  const versions = MEMORY_MIGRATIONS.map((m) => m.version);
  assert.deepEqual(versions, [...versions].sort((x, y) => x - y), 'migration versions ascend');
  assert.equal(new Set(versions).size, versions.length, 'no version repeats');
});

void test('a memory.db written by a newer schema is refused, not misread', (t) => {
  const path = join(tempDir(t), 'memory.db');
  const raw = new Database(path);
  raw.pragma(`user_version = ${MEMORY_SCHEMA_VERSION + 1}`);
  raw.close();
  assert.throws(() => openMemoryDb(path), (err: unknown) => err instanceof AppError && err.code === 'MEMORY_SCHEMA_TOO_NEW');
});

void test('the FTS5 index follows chunk inserts, updates and deletes', (t) => {
  const db = openMemoryDb(join(tempDir(t), 'memory.db'));
  t.after(() => db.close());
  db.prepare("INSERT INTO documents (id, source, text, hash, bytes, created, updated) VALUES ('d', 'note', 'x', 'h', 1, 0, 0)").run();
  const id = Number(
    db.prepare("INSERT INTO chunks (doc_id, seq, source, text, hash, created, updated) VALUES ('d', 0, 'note', 'zebras graze', 'h1', 0, 0)").run().lastInsertRowid,
  );
  const hits = (q: string): number => (db.prepare('SELECT count(*) AS n FROM chunks_fts WHERE chunks_fts MATCH ?').get(q) as { n: number }).n;
  assert.equal(hits('zebra'), 1, 'porter stemming matches the singular');
  db.prepare("UPDATE chunks SET text = 'lions hunt' WHERE id = ?").run(id);
  assert.equal(hits('zebras'), 0);
  assert.equal(hits('lions'), 1);
  db.prepare("DELETE FROM documents WHERE id = 'd'").run();
  assert.equal(hits('lions'), 0, 'cascade from the document removes the chunk and its FTS row');
  assert.equal((db.prepare("INSERT INTO chunks_fts (chunks_fts) VALUES ('integrity-check')").run().changes >= 0), true);
});

void test('a handle opened by another opener (plain SQLite) is made usable once: sqlite-vec + migrations', (t) => {
  const path = join(tempDir(t), 'memory.db');
  const db = new Database(path);
  t.after(() => db.close());
  assert.throws(() => db.prepare('SELECT vec_version()').get());
  ensureMemorySchema(db);
  ensureMemorySchema(db);
  assert.match((db.prepare('SELECT vec_version() AS v').get() as { v: string }).v, /^v0\.1\./);
  assert.equal(db.pragma('user_version', { simple: true }), MEMORY_SCHEMA_VERSION);
});

void test('migration 2 moves the embedding cache to a rowid table and keeps every row', (t) => {
  const path = join(tempDir(t), 'memory.db');
  const v1 = new Database(path);
  migrate(v1, MEMORY_MIGRATIONS.filter((m) => m.version === 1));
  assert.equal(v1.pragma('user_version', { simple: true }), 1);
  v1.prepare("INSERT INTO embedding_cache (embedder, model, hash, dim, vector, created) VALUES ('hash', 'm', 'h1', 2, x'0000803f00000000', 5)").run();
  v1.close();
  const db = openMemoryDb(path);
  t.after(() => db.close());
  assert.equal(db.pragma('user_version', { simple: true }), 2);
  assert.deepEqual(db.prepare('SELECT embedder, model, hash, dim, hex(vector) AS v, created FROM embedding_cache').all(), [
    { embedder: 'hash', model: 'm', hash: 'h1', dim: 2, v: '0000803F00000000', created: 5 },
  ]);
  const ddl = (db.prepare("SELECT sql FROM sqlite_master WHERE name = 'embedding_cache'").get() as { sql: string }).sql;
  assert.ok(!/WITHOUT ROWID/i.test(ddl));
  // The unique key still refuses duplicates (INSERT OR IGNORE relies on it).
  assert.throws(() => db.prepare("INSERT INTO embedding_cache (embedder, model, hash, dim, vector, created) VALUES ('hash', 'm', 'h1', 2, x'00', 6)").run(), /UNIQUE/);
});
