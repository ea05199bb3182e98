// Snapshot throughput: writeSnapshot (SQLite backup API + tar + zstd -3 streamed to a file:// blob store)
// and stageRestore (download + verify + capped decompress + hardened extract + verify), beside a
// `tar -cf - . | zstd -3` shell pipeline over the same tenant directory, in the same run.
// Run: node --import tsx loadtest/snapshot-bench.ts [--sizes 1,10,100] [--runs 3]
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { openBlobStore } from '../router/index.ts';
import { writeSnapshot } from '../shard/snapshot/snapshot-writer.ts';
import { stageRestore } from '../shard/snapshot/snapshot-restore.ts';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? def) : def;
}
const SIZES_MB = arg('sizes', '1,10,100').split(',').map(Number);
const RUNS = Number(arg('runs', '3'));

// Deterministic, text-like content (compresses roughly like chat logs: ~3-4x with zstd -3).
let seed = 7;
const rand = (): number => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
const WORDS = Array.from({ length: 4000 }, (_, i) => `w${(i * 2654435761) % 100000}${'abcdefgh'[i % 8] ?? ''}`);
function text(bytes: number): string {
  let s = '';
  while (s.length < bytes) s += `${WORDS[Math.floor(rand() ** 2 * WORDS.length)] ?? 'x'} `;
  return s.slice(0, bytes);
}

/** A tenant of about `mb` MB: 80% in state.db (WAL), the rest in plain files. */
function buildTenant(dir: string, mb: number): number {
  mkdirSync(join(dir, 'sandbox', 'work'), { recursive: true });
  writeFileSync(join(dir, 'tenant.json'), '{"id":"bench"}');
  writeFileSync(join(dir, 'config.yaml'), 'model: openai/gpt-4o-mini\n');
  const db = new Database(join(dir, 'state.db'));
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE messages (id INTEGER PRIMARY KEY, session TEXT, body TEXT)');
  const insert = db.prepare('INSERT INTO messages (session, body) VALUES (?, ?)');
  const rows = Math.ceil((mb * 0.8 * 1024 * 1024) / 1000);
  db.transaction(() => {
    for (let i = 0; i < rows; i++) insert.run(`s${i % 97}`, text(1000));
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  const files = Math.max(1, Math.round(mb / 2));
  for (let i = 0; i < files; i++) writeFileSync(join(dir, 'sandbox', 'work', `f${i}.txt`), text(Math.floor((mb * 0.2 * 1024 * 1024) / files)));
  return Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

interface Row {
  sizeMB: number;
  tenantBytes: number;
  snapshotMBps: number;
  shellMBps: number;
  ratio: number;
  restoreMBps: number;
  archiveBytes: number;
  shellBytes: number;
  maxLoopDelayMs: number;
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'ocm-snapbench-'));
  const rows: Row[] = [];
  try {
    for (const mb of SIZES_MB) {
      const tenantDir = join(root, `t${mb}`);
      mkdirSync(tenantDir);
      const tenantBytes = buildTenant(tenantDir, mb);
      const store = openBlobStore(pathToFileURL(join(root, 'blobs')).href);
      const ours: number[] = [];
      const shell: number[] = [];
      const restore: number[] = [];
      let archiveBytes = 0;
      let shellBytes = 0;
      let maxLoopDelayMs = 0;
      for (let run = 0; run < RUNS; run++) {
        // Alternate the order so neither side always gets the warm page cache.
        const doShell = (): void => {
          const out = join(root, 'shell.tar.zst');
          const t0 = performance.now();
          execFileSync('sh', ['-c', `tar -C "${tenantDir}" -cf - . | zstd -3 -q -c > "${out}"`]);
          shell.push(performance.now() - t0);
          shellBytes = statSync(out).size;
          rmSync(out);
        };
        if (run % 2 === 1) doShell();
        const h = monitorEventLoopDelay({ resolution: 5 });
        h.enable();
        const t0 = performance.now();
        const snap = await writeSnapshot({ store, tenantId: 'bench', tenantDir, epoch: 1, scratchDir: join(root, 'scratch') });
        ours.push(performance.now() - t0);
        h.disable();
        maxLoopDelayMs = Math.max(maxLoopDelayMs, h.max / 1e6);
        archiveBytes = snap.bytes;
        if (run % 2 === 0) doShell();
        const t1 = performance.now();
        const staged = await stageRestore({ store, key: snap.key, stagingRoot: join(root, 'staging') });
        restore.push(performance.now() - t1);
        await staged.discard();
      }
      await store.close();
      const mbps = (ms: number): number => tenantBytes / 1024 / 1024 / (ms / 1000);
      const row: Row = {
        sizeMB: mb,
        tenantBytes,
        snapshotMBps: mbps(median(ours)),
        shellMBps: mbps(median(shell)),
        ratio: median(shell) / median(ours),
        restoreMBps: mbps(median(restore)),
        archiveBytes,
        shellBytes,
        maxLoopDelayMs,
      };
      rows.push(row);
      rmSync(tenantDir, { recursive: true, force: true });
      rmSync(join(root, 'blobs'), { recursive: true, force: true });
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  const f = (n: number, d = 1): string => n.toFixed(d);
  console.log('| tenant | snapshot MB/s | tar \\| zstd -3 MB/s | ours / shell | restore MB/s | archive | shell archive | max event-loop delay |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(
      `| ${r.sizeMB} MB | ${f(r.snapshotMBps)} | ${f(r.shellMBps)} | ${f(r.ratio, 2)} | ${f(r.restoreMBps)} | ${f(r.archiveBytes / 1048576, 2)} MB | ${f(r.shellBytes / 1048576, 2)} MB | ${f(r.maxLoopDelayMs, 0)} ms |`,
    );
  }
  mkdirSync(new URL('results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('results/snapshot-bench.json', import.meta.url), `${JSON.stringify({ runs: RUNS, node: process.version, rows }, null, 2)}\n`);
}

await main();
