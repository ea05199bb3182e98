// The sqlite-vec (vec0) tables of a memory.db: one per (embedder, model, quantization), created on demand.
import type Database from 'better-sqlite3';
import { vectorToBlob } from './embedder.ts';

export type Quantization = 'none' | 'int8' | 'binary';

export interface IndexSpec {
  readonly embedder: string;
  readonly model: string;
  readonly dim: number;
  readonly quantization: Quantization;
}

export interface IndexRow extends IndexSpec {
  readonly name: string;
  readonly state: 'building' | 'ready';
  readonly done: number;
  readonly total: number;
  readonly created: number;
}

export interface VectorFilter {
  readonly source?: string;
  /** Inclusive bounds on the chunk's `updated` time, in ms since the epoch. */
  readonly since?: number;
  readonly until?: number;
}

const NAME = /^vec_[0-9]{1,9}$/;

/** Table names go into SQL text, so they are ours and checked, never from input. */
function table(name: string): string {
  if (!NAME.test(name)) throw new Error(`bad vector index name ${JSON.stringify(name)}`);
  return name;
}

export function listIndexes(db: Database.Database): IndexRow[] {
  return db.prepare('SELECT * FROM vec_indexes ORDER BY created, name').all() as IndexRow[];
}

export function findIndex(db: Database.Database, embedder: string, model: string, quantization: Quantization): IndexRow | undefined {
  return db
    .prepare('SELECT * FROM vec_indexes WHERE embedder = ? AND model = ? AND quantization = ?')
    .get(embedder, model, quantization) as IndexRow | undefined;
}

function column(spec: IndexSpec): string {
  switch (spec.quantization) {
    case 'none':
      return `embedding float[${spec.dim}] distance_metric=cosine`;
    case 'int8':
      return `embedding int8[${spec.dim}] distance_metric=cosine`;
    case 'binary':
      return `embedding bit[${spec.dim}]`;
  }
}

/** The SQL expression that turns a float32 blob parameter into the column's type. */
function encode(q: Quantization): string {
  switch (q) {
    case 'none':
      return '?';
    case 'int8':
      return "vec_quantize_int8(?, 'unit')";
    case 'binary':
      return 'vec_quantize_binary(?)';
  }
}

/**
 * vec0 stores vectors in chunks of a fixed number of slots, allocated whole (its default, 1,024
 * float[384] slots, is 1.5 MB for a tenant with one note). The size is fixed when the table is
 * created, so it follows the corpus at that moment: small for a first note, large for a rebuild of
 * a big corpus (a KNN scan over many small chunks is slower: ~1.7× at 10,000 vectors).
 */
export function vectorChunkSize(chunks: number): number {
  let size = 16;
  while (size < 1024 && size < chunks) size *= 2;
  return size;
}

/** Creates an empty index (state 'building'). Binary indexes need a dimension divisible by 8. */
export function createIndex(db: Database.Database, spec: IndexSpec, now: number): IndexRow {
  if (!Number.isInteger(spec.dim) || spec.dim < 1 || spec.dim > 8192) throw new RangeError(`unsupported dimension ${spec.dim}`);
  if (spec.quantization === 'binary' && spec.dim % 8 !== 0) throw new RangeError('binary quantization needs a dimension divisible by 8');
  return db.transaction(() => {
    const seq = Number((db.prepare("SELECT value FROM meta WHERE key = 'vec_seq'").get() as { value: string } | undefined)?.value ?? 0) + 1;
    db.prepare("INSERT INTO meta (key, value) VALUES ('vec_seq', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(String(seq));
    const name = table(`vec_${seq}`);
    const total = (db.prepare('SELECT count(*) AS n FROM chunks').get() as { n: number }).n;
    db.exec(`CREATE VIRTUAL TABLE ${name} USING vec0 (chunk_id INTEGER PRIMARY KEY, ${column(spec)}, source TEXT, updated INTEGER, chunk_size=${vectorChunkSize(total)})`);
    db.prepare(
      "INSERT INTO vec_indexes (name, embedder, model, dim, quantization, state, done, total, created) VALUES (?, ?, ?, ?, ?, 'building', 0, ?, ?)",
    ).run(name, spec.embedder, spec.model, spec.dim, spec.quantization, total, now);
    return findIndex(db, spec.embedder, spec.model, spec.quantization) as IndexRow;
  })();
}

export function dropIndex(db: Database.Database, name: string): void {
  db.transaction(() => {
    db.exec(`DROP TABLE IF EXISTS ${table(name)}`);
    db.prepare('DELETE FROM vec_indexes WHERE name = ?').run(name);
  })();
}

export function hasVector(db: Database.Database, idx: IndexRow, chunkId: number): boolean {
  return db.prepare(`SELECT 1 FROM ${table(idx.name)} WHERE chunk_id = ?`).get(BigInt(chunkId)) !== undefined;
}

export function insertVector(db: Database.Database, idx: IndexRow, chunkId: number, v: Float32Array, source: string, updated: number): void {
  if (v.length !== idx.dim) throw new RangeError(`vector of ${v.length} dimensions for an index of ${idx.dim}`);
  db.prepare(`INSERT INTO ${table(idx.name)} (chunk_id, embedding, source, updated) VALUES (?, ${encode(idx.quantization)}, ?, ?)`).run(
    BigInt(chunkId),
    vectorToBlob(v),
    source,
    BigInt(Math.trunc(updated)),
  );
}

/** Removes chunks from every vector index (vec0 tables have no foreign keys). */
export function deleteVectors(db: Database.Database, chunkIds: readonly number[]): void {
  if (chunkIds.length === 0) return;
  for (const idx of listIndexes(db)) {
    const del = db.prepare(`DELETE FROM ${table(idx.name)} WHERE chunk_id = ?`);
    for (const id of chunkIds) del.run(BigInt(id));
  }
}

export function countVectors(db: Database.Database, idx: IndexRow): number {
  return (db.prepare(`SELECT count(*) AS n FROM ${table(idx.name)}`).get() as { n: number }).n;
}

export function setProgress(db: Database.Database, name: string, done: number, total: number, state: 'building' | 'ready'): void {
  db.prepare('UPDATE vec_indexes SET done = ?, total = ?, state = ? WHERE name = ?').run(done, total, state, name);
}

/** The k nearest chunks by the index's own distance (cosine for float/int8, Hamming for binary). */
export function knn(db: Database.Database, idx: IndexRow, query: Float32Array, k: number, filter: VectorFilter = {}): { chunkId: number; distance: number }[] {
  const where: string[] = [`embedding MATCH ${encode(idx.quantization)}`, 'k = ?'];
  const args: unknown[] = [vectorToBlob(query), Math.max(1, Math.min(4096, Math.trunc(k)))];
  if (filter.source !== undefined) {
    where.push('source = ?');
    args.push(filter.source);
  }
  if (filter.since !== undefined) {
    where.push('updated >= ?');
    args.push(BigInt(Math.trunc(filter.since)));
  }
  if (filter.until !== undefined) {
    where.push('updated <= ?');
    args.push(BigInt(Math.trunc(filter.until)));
  }
  const rows = db.prepare(`SELECT chunk_id AS chunkId, distance FROM ${table(idx.name)} WHERE ${where.join(' AND ')} ORDER BY distance`).all(...args);
  return rows as { chunkId: number; distance: number }[];
}
