import Database from 'better-sqlite3';
import { readFileSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';
import { openBlobStore } from './router/index.ts';
import { stageRestore } from './shard/snapshot/snapshot-restore.ts';
import { craftTar, publishSnapshot, zstd } from './test/archive-corpus/craft-archive.ts';
const root = mkdtempSync(join(tmpdir(), 'dbg-'));
const dbFile = join(root, 'corrupt.db');
const db = new Database(dbFile);
db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); CREATE INDEX t_v ON t(v)');
const ins = db.prepare('INSERT INTO t (v) VALUES (?)');
for (let i = 0; i < 2000; i++) ins.run(`value ${i} ${'x'.repeat(50)}`);
db.close();
const store = openBlobStore(pathToFileURL(join(root, 'blobs')).href);
const ka = setInterval(() => {}, 1000);
const bytes = readFileSync(dbFile);
const entries = [{ path: 'state.db', type: 'file' as const, body: bytes }];
const t = craftTar(entries);
const key = await publishSnapshot(store, 'acme', zstd(t), t.length, entries, { databases: [] });
const to = setTimeout(() => { console.log('TIMEOUT'); process.exit(1); }, 8000);
try { const s = await stageRestore({ store, key, stagingRoot: join(root, 'st') }); console.log('ok'); await s.discard(); }
catch (e) { console.log('refused', (e as any).code); }
clearTimeout(to); clearInterval(ka);
