// Backup under write load: a child process keeps committing rows while a snapshot is taken; the restored
// copy holds every row acknowledged before the snapshot began and passes integrity_check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { openBlobStore } from '../../router/index.ts';
import { writeSnapshot } from './snapshot-writer.ts';
import { stageRestore } from './snapshot-restore.ts';
import { commitStaged } from './commit-staged.ts';

// The writer: WAL + synchronous=FULL like the shard's state.db; prints ACK <id> only after each commit.
const WRITER = `
const Database = require('better-sqlite3');
const db = new Database(process.argv[1]);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.exec('CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
const pad = 'x'.repeat(400);
const fill = db.transaction(() => { for (let i = 0; i < 20000; i++) db.prepare('INSERT INTO messages (body) VALUES (?)').run('fill ' + pad); });
fill();
const insert = db.prepare('INSERT INTO messages (body) VALUES (?)');
let stop = false;
process.stdin.on('end', () => { stop = true; });
process.stdin.resume();
process.stdout.write('READY\\n');
function burst() {
  if (stop) { db.close(); process.exit(0); }
  let out = '';
  for (let i = 0; i < 20; i++) out += 'ACK ' + insert.run('row ' + pad).lastInsertRowid + '\\n';
  process.stdout.write(out, () => setImmediate(burst));
}
burst();
`;

void test('a snapshot taken while another process commits holds every write acknowledged before it began', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'ocm-snapload-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const tenantDir = join(root, 'data', 'tenants', 'busy');
  mkdirSync(tenantDir, { recursive: true });
  writeFileSync(join(tenantDir, 'tenant.json'), '{"id":"busy"}');
  const store = openBlobStore(pathToFileURL(join(root, 'blobs')).href);
  t.after(() => store.close());

  const child = spawn(process.execPath, ['-e', WRITER, join(tenantDir, 'state.db')], { cwd: process.cwd(), stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  t.after(async () => {
    if (child.exitCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  let lastAck = 0;
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  let enoughAcks!: () => void;
  const hasAcks = new Promise<void>((r) => (enoughAcks = r));
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line === 'READY') ready();
    const m = /^ACK (\d+)$/.exec(line);
    if (m !== null) {
      lastAck = Number(m[1]);
      if (lastAck > 20_500) enoughAcks();
    }
  });
  await isReady;
  await hasAcks;

  const ackedBefore = lastAck;
  const snap = await writeSnapshot({ store, tenantId: 'busy', tenantDir, epoch: 1, scratchDir: join(root, 'scratch') });
  const ackedAfter = lastAck;
  child.stdin.end();
  await exited;
  assert.ok(ackedAfter > ackedBefore, `the writer kept committing during the snapshot (${ackedBefore} → ${ackedAfter})`);

  const staged = await stageRestore({ store, key: snap.key, stagingRoot: join(root, 'data', 'staging') });
  const target = join(root, 'data', 'tenants', 'busy-restored');
  await commitStaged(staged, target);
  const db = new Database(join(target, 'state.db'), { readonly: true });
  t.after(() => db.close());
  assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
  const { n, max } = db.prepare('SELECT count(*) AS n, max(id) AS max FROM messages').get() as { n: number; max: number };
  assert.ok(max >= ackedBefore, `restored max id ${max} >= last id acknowledged before the snapshot ${ackedBefore}`);
  assert.equal(n, max, 'no gaps: ids 1..max are all present');
  const missing = db.prepare('SELECT count(*) AS c FROM messages WHERE id <= ?').get(ackedBefore) as { c: number };
  assert.equal(missing.c, ackedBefore, 'every acknowledged row is present');
});
