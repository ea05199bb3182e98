// Memory search benchmark: p50/p99 query latency at 10k and 100k chunks (float, int8, binary vec0
// indexes, hybrid and vector-only) beside a plain JavaScript brute-force scan of the same vectors,
// plus indexing throughput. Run: node --import tsx loadtest/memory-bench.ts [--sizes 10000,100000] [--queries 200]
// [--quant none,int8,binary] [--real-path-docs 2000]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type Database from 'better-sqlite3';
import { dot, vectorToBlob } from '../shard/memory/embedder.ts';
import { HashingEmbedder } from '../shard/memory/hashing-embedder.ts';
import { openMemoryDb } from '../shard/memory/memory-db.ts';
import { addDocument, sha256 } from '../shard/memory/memory-documents.ts';
import { ensureIndex, runningBuild } from '../shard/memory/memory-indexer.ts';
import { searchMemory } from '../shard/memory/memory-search.ts';
import { findIndex, knn, type Quantization } from '../shard/memory/vector-index.ts';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? def) : def;
}
const SIZES = arg('sizes', '10000,100000').split(',').map(Number);
const QUERIES = Number(arg('queries', '200'));
const REAL_PATH_DOCS = Number(arg('real-path-docs', '2000'));
const QUANT = arg('quant', 'none,int8,binary').split(',') as Quantization[];

// Deterministic synthetic text: a Zipf-like draw from a 5,000-word vocabulary of pronounceable words.
let seed = 42;
const rand = (): number => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
const SYL = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'ti', 'vo', 'ze', 'pa', 'gri', 'sto', 'bel', 'dan', 'fer', 'hul', 'jor', 'qua', 'wen', 'yst'];
const VOCAB = Array.from({ length: 5000 }, (_, i) => {
  let w = '';
  for (let n = i + 7; n > 0; n = Math.floor(n / SYL.length)) w += SYL[n % SYL.length];
  return w;
});
const word = (): string => VOCAB[Math.min(VOCAB.length - 1, Math.floor(Math.pow(rand(), 2.2) * VOCAB.length))] as string;
const sentence = (n: number): string => Array.from({ length: n }, word).join(' ') + '.';
const chunkText = (): string => `${sentence(12 + Math.floor(rand() * 10))} ${sentence(10 + Math.floor(rand() * 10))}`;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
}
const ms = (x: number): string => x.toFixed(2);

interface Row {
  chunks: number;
  variant: string;
  p50: number;
  p99: number;
  mean: number;
}

/** Bulk load (the same rows addDocument writes, one transaction per 5,000 documents). */
function bulkLoad(db: Database.Database, emb: HashingEmbedder, from: number, to: number, vectors: Float32Array[]): void {
  const insDoc = db.prepare('INSERT INTO documents (id, source, title, path, text, hash, bytes, created, updated) VALUES (?, ?, NULL, NULL, ?, ?, ?, ?, ?)');
  const insChunk = db.prepare('INSERT INTO chunks (doc_id, seq, source, title, path, text, hash, created, updated) VALUES (?, 0, ?, NULL, NULL, ?, ?, ?, ?)');
  const insCache = db.prepare('INSERT OR IGNORE INTO embedding_cache (embedder, model, hash, dim, vector, created) VALUES (?, ?, ?, ?, ?, ?)');
  const idx = findIndex(db, emb.kind, emb.model, 'none');
  if (idx === undefined) throw new Error('no index');
  const insVec = db.prepare(`INSERT INTO ${idx.name} (chunk_id, embedding, source, updated) VALUES (?, ?, ?, ?)`);
  for (let start = from; start < to; start += 5000) {
    db.transaction(() => {
      for (let i = start; i < Math.min(to, start + 5000); i++) {
        const text = chunkText();
        const h = sha256(text);
        const v = emb.embedOne(text);
        vectors.push(v);
        const now = 1_700_000_000_000 + i;
        insDoc.run(`b${i}`, 'bench', text, h, text.length, now, now);
        const cid = insChunk.run(`b${i}`, 'bench', text, h, now, now).lastInsertRowid;
        insCache.run(emb.kind, emb.model, h, v.length, vectorToBlob(v), now);
        insVec.run(BigInt(cid), vectorToBlob(v), 'bench', BigInt(now));
      }
    })();
  }
}

/** Plain JavaScript brute force over the same vectors: a dot product per row, then top-k. */
function bruteForce(vectors: Float32Array[], q: Float32Array, k: number): number[] {
  const scores = new Float32Array(vectors.length);
  for (let i = 0; i < vectors.length; i++) scores[i] = dot(q, vectors[i] as Float32Array);
  const top: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    if (top.length < k) {
      top.push(i);
      top.sort((a, b) => (scores[b] as number) - (scores[a] as number));
    } else if ((scores[i] as number) > (scores[top[k - 1] as number] as number)) {
      top[k - 1] = i;
      top.sort((a, b) => (scores[b] as number) - (scores[a] as number));
    }
  }
  return top;
}

async function time(n: number, fn: (i: number) => Promise<unknown> | unknown): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < 5; i++) await fn(i); // warm-up
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(i);
    out.push(performance.now() - t0);
  }
  return out;
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const throughput: Record<string, number> = {};
  const emb = new HashingEmbedder();
  // Queries of 2-5 content words: uniform over the vocabulary below its 500 most frequent words
  // (which act as this corpus's stop words and match most chunks).
  const contentWord = (): string => VOCAB[500 + Math.floor(rand() * (VOCAB.length - 500))] as string;
  const queries = Array.from({ length: QUERIES }, () => Array.from({ length: 2 + Math.floor(rand() * 4) }, contentWord).join(' '));
  // The worst case for the keyword side: queries of the most frequent words (long posting lists).
  const commonQueries = Array.from({ length: QUERIES }, () => Array.from({ length: 2 + Math.floor(rand() * 4) }, word).join(' '));
  const qv = queries.map((q) => emb.embedOne(q));
  const load: number[][] = [os.loadavg()];
  for (const size of SIZES) {
    const dir = mkdtempSync(join(tmpdir(), 'ocmu-membench-'));
    try {
      const db = openMemoryDb(join(dir, 'memory.db'));
      const vectors: Float32Array[] = [];
      // 1. Indexing through the real path (validate, chunk, embed, one durable transaction per document).
      const real = Math.min(REAL_PATH_DOCS, size);
      let t0 = performance.now();
      for (let i = 0; i < real; i++) {
        const text = chunkText();
        await addDocument(db, { id: `r${i}`, text, source: 'bench' }, { embedder: emb, quantization: 'none', now: 1_700_000_000_000 + i });
        vectors.push(emb.embedOne(text));
      }
      throughput[`addDocument docs/s (synchronous=FULL, 1 doc per transaction) @${size}`] = real / ((performance.now() - t0) / 1000);
      t0 = performance.now();
      bulkLoad(db, emb, real, size, vectors);
      if (size > real) throughput[`bulk load chunks/s (embed + FTS + vec0, 5k per transaction) @${size}`] = (size - real) / ((performance.now() - t0) / 1000);
      const count = (db.prepare('SELECT count(*) AS n FROM chunks').get() as { n: number }).n;
      if (count !== size) throw new Error(`expected ${size} chunks, have ${count}`);

      const bf = await time(QUERIES, (i) => bruteForce(vectors, qv[i] as Float32Array, 10));
      rows.push({ chunks: size, variant: 'JS brute force (float32 dot, top-10)', p50: pct(bf, 50), p99: pct(bf, 99), mean: bf.reduce((a, b) => a + b, 0) / bf.length });

      for (const q of QUANT) {
        if (q !== 'none') {
          t0 = performance.now();
          await ensureIndex(db, emb, q, { now: Date.now });
          for (let p = runningBuild(db); p !== undefined; p = runningBuild(db)) await p;
          throughput[`background re-index from the embedding cache chunks/s (${q}) @${size}`] = size / ((performance.now() - t0) / 1000);
        }
        const idx = findIndex(db, emb.kind, emb.model, q);
        if (idx?.state !== 'ready') throw new Error(`index ${q} not ready`);
        const knnT = await time(QUERIES, (i) => knn(db, idx, qv[i] as Float32Array, q === 'none' ? 24 : 96));
        rows.push({ chunks: size, variant: `vec0 ${q} KNN only (k=${q === 'none' ? 24 : 96})`, p50: pct(knnT, 50), p99: pct(knnT, 99), mean: knnT.reduce((a, b) => a + b, 0) / knnT.length });
        for (const [label, wv, wk] of [['vector-only', 1, 0], ['hybrid', 0.5, 0.5]] as const) {
          const lat = await time(QUERIES, (i) =>
            searchMemory(db, emb, queries[i] as string, { limit: 6, vectorWeight: wv, keywordWeight: wk, minScore: 0, quantization: q, now: Date.now() }),
          );
          rows.push({ chunks: size, variant: `memory search ${label}, ${q} index + full-precision re-rank`, p50: pct(lat, 50), p99: pct(lat, 99), mean: lat.reduce((a, b) => a + b, 0) / lat.length });
        }
        if (q === 'binary') {
          const lat = await time(QUERIES, (i) =>
            searchMemory(db, emb, commonQueries[i] as string, { limit: 6, vectorWeight: 0.5, keywordWeight: 0.5, minScore: 0, quantization: q, now: Date.now() }),
          );
          rows.push({ chunks: size, variant: 'memory search hybrid, binary index, queries of the most frequent words', p50: pct(lat, 50), p99: pct(lat, 99), mean: lat.reduce((a, b) => a + b, 0) / lat.length });
        }
      }
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const lines = ['| chunks | variant | p50 ms | p99 ms | mean ms | p50 vs JS brute force |', '|---:|---|---:|---:|---:|---:|'];
  for (const r of rows) {
    const base = rows.find((x) => x.chunks === r.chunks && x.variant.startsWith('JS brute force'));
    lines.push(`| ${r.chunks} | ${r.variant} | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.mean)} | ${base === undefined ? '' : (r.p50 / base.p50).toFixed(2) + '×'} |`);
  }
  load.push(os.loadavg());
  lines.push('', `Load average (1/5/15 min) at start ${load[0]?.map((x) => x.toFixed(1)).join('/')}, at end ${load[1]?.map((x) => x.toFixed(1)).join('/')}; ${os.cpus().length} CPUs; ${QUERIES} queries per row after 5 warm-up.`);
  lines.push('', '| indexing | per second |', '|---|---:|');
  for (const [k, v] of Object.entries(throughput)) lines.push(`| ${k} | ${Math.round(v)} |`);
  console.log(lines.join('\n'));
  const outDir = new URL('./results/', import.meta.url).pathname;
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, QUANT.length === 3 ? 'memory-bench.json' : `memory-bench-${QUANT.join('-')}.json`), JSON.stringify({ at: new Date().toISOString(), node: process.version, queries: QUERIES, load, rows, throughput }, null, 2));
}

await main();
