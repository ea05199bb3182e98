// Per-feature migration versions: independent counters, adoption of pre-feature databases, refusal of newer ones.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyFeatureMigrations, type MigrationSet } from './feature-migrations.ts';

function db(t: TestContext): Database.Database {
  const dir = mkdtempSync(join(tmpdir(), 'ocmu-mig-'));
  const d = new Database(join(dir, 'state.db'));
  t.after(() => {
    d.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return d;
}

const tables = (d: Database.Database): string[] =>
  (d.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('feature_migrations') ORDER BY name").all() as { name: string }[]).map((r) => r.name);

void test('each feature counts its own versions; adding one to a feature never renumbers another', (t) => {
  const d = db(t);
  const a: MigrationSet = { feature: 'alpha', migrations: [{ version: 1, name: 'a1', sql: 'CREATE TABLE a1 (x);' }] };
  const b: MigrationSet = { feature: 'beta', migrations: [{ version: 1, name: 'b1', sql: 'CREATE TABLE b1 (x);' }] };
  applyFeatureMigrations(d, [a, b]);
  assert.deepEqual(tables(d), ['a1', 'b1']);
  const a2: MigrationSet = { feature: 'alpha', migrations: [...a.migrations, { version: 2, name: 'a2', sql: 'CREATE TABLE a2 (x);' }] };
  const c: MigrationSet = { feature: 'gamma', migrations: [{ version: 1, name: 'c1', sql: 'CREATE TABLE c1 (x);' }] };
  applyFeatureMigrations(d, [c, a2, b]); // order of the list and new features do not matter to the others
  applyFeatureMigrations(d, [c, a2, b]); // idempotent
  assert.deepEqual(tables(d), ['a1', 'a2', 'b1', 'c1']);
  const rows = d.prepare('SELECT feature, version FROM feature_migrations ORDER BY feature, version').all();
  assert.deepEqual(rows, [
    { feature: 'alpha', version: 1 },
    { feature: 'alpha', version: 2 },
    { feature: 'beta', version: 1 },
    { feature: 'gamma', version: 1 },
  ]);
});

void test('a database from the single user_version sequence is adopted, not migrated twice', (t) => {
  const d = db(t);
  // What the shard wrote before per-feature versions: meta (user_version 1) and the AI tables (2).
  d.exec('CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL); CREATE TABLE ai_x (id INTEGER);');
  d.pragma('user_version = 2');
  const sets: MigrationSet[] = [
    { feature: 'shard', migrations: [{ version: 1, name: 'meta', sql: 'CREATE TABLE meta (key TEXT);', adoptsUserVersion: 1 }] },
    { feature: 'ai', migrations: [{ version: 1, name: 'ai', sql: 'CREATE TABLE ai_x (id INTEGER);', adoptsUserVersion: 2 }, { version: 2, name: 'ai2', sql: 'CREATE TABLE ai_y (id INTEGER);' }] },
    { feature: 'later', migrations: [{ version: 1, name: 'l', sql: 'CREATE TABLE later_x (id INTEGER);', adoptsUserVersion: 3 }] },
  ];
  applyFeatureMigrations(d, sets); // would throw "table meta already exists" if not adopted
  assert.deepEqual(tables(d), ['ai_x', 'ai_y', 'later_x', 'meta']);
});

void test('a feature migrated further than this build knows is refused; unknown features are left alone', (t) => {
  const d = db(t);
  applyFeatureMigrations(d, [
    { feature: 'alpha', migrations: [{ version: 1, name: 'a1', sql: 'CREATE TABLE a1 (x);' }, { version: 2, name: 'a2', sql: 'CREATE TABLE a2 (x);' }] },
    { feature: 'retired', migrations: [{ version: 1, name: 'r1', sql: 'CREATE TABLE r1 (x);' }] },
  ]);
  assert.throws(() => applyFeatureMigrations(d, [{ feature: 'alpha', migrations: [{ version: 1, name: 'a1', sql: 'CREATE TABLE a1 (x);' }] }]), { code: 'SHARD_SCHEMA_TOO_NEW' });
  applyFeatureMigrations(d, [{ feature: 'alpha', migrations: [{ version: 1, name: 'a1', sql: '' }, { version: 2, name: 'a2', sql: '' }] }]);
});

void test('a failing migration leaves neither its tables nor its record', (t) => {
  const d = db(t);
  const bad: MigrationSet = { feature: 'alpha', migrations: [{ version: 1, name: 'broken', sql: 'CREATE TABLE half (x); CREATE TABLE oops (' }] };
  assert.throws(() => applyFeatureMigrations(d, [bad]));
  assert.deepEqual(tables(d), []);
  assert.equal((d.prepare('SELECT count(*) AS n FROM feature_migrations').get() as { n: number }).n, 0);
});
