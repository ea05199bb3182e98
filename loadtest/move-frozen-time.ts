// Frozen time per tenant against tenant size: a real move (freeze → snapshot → import → manifest
// CAS → thaw) between two shards on loopback, beside a `tar | zstd -3` pipeline over the same
// tenant directory in the same run. Target: a 100 MB tenant frozen under 3 s.
// Run: node --import tsx loadtest/move-frozen-time.ts [--sizes 1,10,100]
import { execSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { mintAdminKey } from '../router/identity/tenant-id.ts';
import { openBlobStore } from '../router/blob/open-blob-store.ts';
import { manifestStore } from '../router/manifest/manifest-store.ts';
import { parseShardConfig } from '../shard/config/shard-config.ts';
import { startShard } from '../shard/app/start-shard.ts';
import { createLogger } from '../shard/observability/logger.ts';
import { sha256Hex } from '../shard/auth/token-hash.ts';
import { addShard } from '../ops/fleet/fleet-edits.ts';
import { rebalance } from '../ops/fleet/rebalance.ts';
import { ShardAdmin } from '../ops/fleet/shard-admin.ts';

const arg = (name: string, def: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? def) : def;
};
const SIZES = arg('sizes', '1,10,100').split(',').map(Number);

let seed = 11;
const rand = (): number => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
const WORDS = Array.from({ length: 4000 }, (_, i) => `w${(i * 2654435761) % 100000}`);
const text = (bytes: number): string => {
  let s = '';
  while (s.length < bytes) s += `${WORDS[Math.floor(rand() ** 2 * WORDS.length)] ?? 'x'} `;
  return s.slice(0, bytes);
};

/** Fills a tenant directory to about `mb` MB: 80% chat-like rows in state.db, 20% sandbox files. */
function fill(dir: string, mb: number): void {
  const db = new Database(join(dir, 'state.db'));
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE IF NOT EXISTS bench_messages (id INTEGER PRIMARY KEY, body TEXT)');
  const insert = db.prepare('INSERT INTO bench_messages (body) VALUES (?)');
  const rows = Math.ceil((mb * 0.8 * 1024 * 1024) / 1000);
  db.transaction(() => {
    for (let i = 0; i < rows; i++) insert.run(text(1000));
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  mkdirSync(join(dir, 'sandbox', 'work'), { recursive: true });
  writeFileSync(join(dir, 'sandbox', 'work', 'notes.txt'), text(Math.floor(mb * 0.2 * 1024 * 1024)));
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'ocmu-movebench-'));
  const adminKey = mintAdminKey();
  const blobUrl = `file://${join(root, 'blobs')}`;
  mkdirSync(join(root, 'blobs'));
  const blob = openBlobStore(blobUrl);
  const log = createLogger({ level: 'silent' });
  const start = (id: string) =>
    startShard(parseShardConfig({ id, port: 0, dataDir: join(root, id), adminKeyHashes: [sha256Hex(adminKey)], blob: blobUrl, logLevel: 'silent' }), { log });
  const s1 = await start('s1');
  const s2 = await start('s2');
  try {
    await manifestStore(blob).write({ version: 1, shards: [{ id: 's1', url: s1.url, weight: 1 }], overrides: {} }, null);
    const admin1 = new ShardAdmin('s1', s1.url, adminKey);
    const shell = new Map<string, number>();
    for (const mb of SIZES) {
      const id = `m${mb}`;
      await admin1.call('POST', '/v1/tenants', { id });
      fill(s1.services.store.dirOf(id), mb);
      const t0 = performance.now();
      execSync(`tar -cf - -C ${JSON.stringify(s1.services.store.dirOf(id))} . | zstd -3 -q -c > /dev/null`);
      shell.set(id, performance.now() - t0);
    }
    await addShard(blob, adminKey, { id: 's2', url: s2.url, weight: 1000 });
    const report = await rebalance({ blob, adminKey, concurrency: 1, dryRun: false, log: () => {} });
    const rows = SIZES.map((mb) => {
      const id = `m${mb}`;
      const d = report.done.find((x) => x.tenant === id);
      return { sizeMB: mb, frozenMs: d?.frozenMs ?? null, tarZstdMs: Math.round(shell.get(id) ?? 0) };
    });
    console.log('| tenant size | frozen (freeze → thaw on the new shard) | `tar \\| zstd -3` of the same directory | frozen / pipeline |');
    console.log('|---:|---:|---:|---:|');
    for (const r of rows) {
      console.log(`| ${r.sizeMB} MB | ${r.frozenMs ?? 'did not move'} ms | ${r.tarZstdMs} ms | ${r.frozenMs === null ? '-' : (r.frozenMs / Math.max(1, r.tarZstdMs)).toFixed(2)} |`);
    }
    mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
    writeFileSync(new URL('./results/move-frozen-time.json', import.meta.url), `${JSON.stringify({ at: new Date().toISOString(), rows }, null, 2)}\n`);
  } finally {
    await s1.close();
    await s2.close();
    await blob.close();
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
