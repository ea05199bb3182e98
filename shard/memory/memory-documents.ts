// Documents in a memory.db: validate, chunk, embed (with cache) and write each one in one transaction.
import type Database from 'better-sqlite3';
import { createHash, randomBytes } from 'node:crypto';
import { AppError } from '../../router/errors/app-error.ts';
import { chunkText, DEFAULT_CHUNK_OPTIONS, type ChunkOptions } from './chunker.ts';
import type { Embedder } from './embedder.ts';
import { blobToVector, vectorToBlob } from './embedder.ts';
import { countVectors, createIndex, deleteVectors, insertVector, listIndexes, setProgress, type IndexRow, type Quantization } from './vector-index.ts';

export interface MemoryLimits {
  /** UTF-8 bytes of a document's text. */
  readonly maxDocumentBytes: number;
  readonly maxChunksPerDocument: number;
  readonly chunk: ChunkOptions;
}

export const DEFAULT_LIMITS: MemoryLimits = Object.freeze({ maxDocumentBytes: 256 * 1024, maxChunksPerDocument: 4096, chunk: DEFAULT_CHUNK_OPTIONS });

export interface DocumentInput {
  readonly id?: string;
  readonly text: string;
  readonly title?: string;
  readonly source?: string;
  readonly path?: string;
}

export interface WriteOptions {
  readonly embedder: Embedder;
  /** The quantization of the index created when no index for this embedder exists yet. */
  readonly quantization: Quantization;
  readonly limits?: MemoryLimits;
  readonly now: number;
  readonly signal?: AbortSignal;
}

export interface AddResult {
  readonly id: string;
  readonly created: boolean;
  /** Chunks written, removed and kept unchanged by this call. */
  readonly added: number;
  readonly removed: number;
  readonly kept: number;
}

export interface DocumentView {
  readonly id: string;
  readonly title: string | null;
  readonly source: string;
  readonly path: string | null;
  readonly bytes: number;
  readonly created: number;
  readonly updated: number;
  readonly chunks: number;
}

export const DOC_ID = /^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$/;
const SOURCE = /^[a-z0-9][a-z0-9_.:-]{0,63}$/;

function invalid(field: string, reason: string): AppError {
  return new AppError('MEMORY_DOCUMENT_INVALID', { details: { field, reason } });
}

function wellFormed(s: string): boolean {
  // Lone surrogates cannot be stored as UTF-8 without loss; NUL breaks C consumers of the text.
  return s.isWellFormed() && !s.includes('\0');
}

export function sha256(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

/** Refuses malformed or oversized input before anything is written. */
export function validateDocument(input: DocumentInput, limits: MemoryLimits): { id: string | undefined; text: string; title: string | null; source: string; path: string | null } {
  if (typeof input !== 'object' || input === null) throw invalid('document', 'not an object');
  if (typeof input.text !== 'string') throw invalid('text', 'must be a string');
  const bytes = Buffer.byteLength(input.text, 'utf8');
  if (bytes > limits.maxDocumentBytes) {
    throw new AppError('MEMORY_DOCUMENT_TOO_LARGE', { details: { bytes, limitBytes: limits.maxDocumentBytes } });
  }
  if (!wellFormed(input.text)) throw invalid('text', 'contains NUL or unpaired surrogates');
  if (input.text.trim() === '') throw invalid('text', 'is empty');
  if (input.id !== undefined && (typeof input.id !== 'string' || !DOC_ID.test(input.id))) throw invalid('id', `must match ${DOC_ID.source}`);
  if (input.title !== undefined && (typeof input.title !== 'string' || input.title.length > 500 || !wellFormed(input.title))) {
    throw invalid('title', 'must be a well-formed string of at most 500 characters');
  }
  if (input.source !== undefined && (typeof input.source !== 'string' || !SOURCE.test(input.source))) throw invalid('source', `must match ${SOURCE.source}`);
  if (input.path !== undefined && (typeof input.path !== 'string' || input.path.length > 1000 || !wellFormed(input.path))) {
    throw invalid('path', 'must be a well-formed string of at most 1000 characters');
  }
  return { id: input.id, text: input.text, title: input.title ?? null, source: input.source ?? 'note', path: input.path ?? null };
}

/**
 * Vectors for `texts` (with their content hashes): cached ones from `embedding_cache`, the rest
 * from the embedder. Returns the vectors and which ones are new (to be cached by the caller's transaction).
 */
export async function embedWithCache(
  db: Database.Database,
  embedder: Embedder,
  texts: readonly string[],
  hashes: readonly string[],
  signal?: AbortSignal,
): Promise<{ vectors: Float32Array[]; fresh: boolean[] }> {
  const get = db.prepare('SELECT vector FROM embedding_cache WHERE embedder = ? AND model = ? AND hash = ?');
  const vectors: (Float32Array | undefined)[] = hashes.map((h) => {
    const row = get.get(embedder.kind, embedder.model, h) as { vector: Buffer } | undefined;
    return row === undefined ? undefined : blobToVector(row.vector);
  });
  const missing = vectors.flatMap((v, i) => (v === undefined ? [i] : []));
  if (missing.length > 0) {
    const got = await embedder.embed(missing.map((i) => texts[i] as string), signal);
    if (got.length !== missing.length) throw new AppError('MEMORY_EMBEDDER_UNAVAILABLE', { details: { reason: 'wrong number of vectors' } });
    missing.forEach((i, j) => (vectors[i] = got[j]));
  }
  const fresh = vectors.map((_, i) => missing.includes(i));
  return { vectors: vectors as Float32Array[], fresh };
}

export function cacheVector(db: Database.Database, embedder: Embedder, hash: string, v: Float32Array, now: number): void {
  db.prepare('INSERT OR IGNORE INTO embedding_cache (embedder, model, hash, dim, vector, created) VALUES (?, ?, ?, ?, ?, ?)').run(
    embedder.kind,
    embedder.model,
    hash,
    v.length,
    vectorToBlob(v),
    now,
  );
}

interface ChunkRow {
  id: number;
  seq: number;
  hash: string;
}

/**
 * Adds a document, or replaces one with the same id. Only chunks whose content changed are
 * re-embedded and rewritten; every write happens in one transaction, so a failure leaves the
 * previous state whole.
 */
export function addDocument(db: Database.Database, input: DocumentInput, opts: WriteOptions): Promise<AddResult> {
  // Writes to one database run one at a time: each plans against the state the previous one left
  // (two concurrent adds of one id would otherwise both plan an insert).
  const prev = writeQueue.get(db) ?? Promise.resolve();
  const run = prev.then(
    () => addDocumentNow(db, input, opts),
    () => addDocumentNow(db, input, opts),
  );
  writeQueue.set(
    db,
    run.then(
      () => undefined,
      () => undefined,
    ),
  );
  return run;
}

const writeQueue = new WeakMap<Database.Database, Promise<void>>();

async function addDocumentNow(db: Database.Database, input: DocumentInput, opts: WriteOptions): Promise<AddResult> {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const doc = validateDocument(input, limits);
  const texts = chunkText(doc.text, limits.chunk);
  if (texts.length === 0) throw invalid('text', 'has no content');
  if (texts.length > limits.maxChunksPerDocument) {
    throw new AppError('MEMORY_DOCUMENT_TOO_LARGE', { details: { chunks: texts.length, limitChunks: limits.maxChunksPerDocument } });
  }
  const id = doc.id ?? `m_${randomBytes(8).toString('hex')}`;
  const docHash = sha256(JSON.stringify([doc.text, doc.title, doc.source, doc.path]));
  const existing = db.prepare('SELECT hash, title, source, path, created FROM documents WHERE id = ?').get(id) as
    | { hash: string; title: string | null; source: string; path: string | null; created: number }
    | undefined;
  const oldChunks = existing === undefined ? [] : (db.prepare('SELECT id, seq, hash FROM chunks WHERE doc_id = ? ORDER BY seq').all(id) as ChunkRow[]);
  if (existing !== undefined && existing.hash === docHash) return { id, created: false, added: 0, removed: 0, kept: oldChunks.length };
  // A change of title, source or path changes every chunk's metadata: rewrite them all (vectors come from the cache).
  const metaSame = existing !== undefined && existing.title === doc.title && existing.source === doc.source && existing.path === doc.path;
  const hashes = texts.map(sha256);
  const reusable = new Map<string, ChunkRow[]>();
  if (metaSame) for (const c of oldChunks) reusable.set(c.hash, [...(reusable.get(c.hash) ?? []), c]);
  const plan = hashes.map((h, seq) => ({ seq, hash: h, text: texts[seq] as string, keep: reusable.get(h)?.shift() }));
  const toWrite = plan.filter((p) => p.keep === undefined);
  const keptIds = new Set(plan.flatMap((p) => (p.keep === undefined ? [] : [p.keep.id])));
  const removed = oldChunks.filter((c) => !keptIds.has(c.id)).map((c) => c.id);

  const { vectors, fresh } = await embedWithCache(
    db,
    opts.embedder,
    toWrite.map((p) => p.text),
    toWrite.map((p) => p.hash),
    opts.signal,
  );

  db.transaction(() => {
    const now = opts.now;
    if (existing === undefined) {
      db.prepare('INSERT INTO documents (id, source, title, path, text, hash, bytes, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
        id, doc.source, doc.title, doc.path, doc.text, docHash, Buffer.byteLength(doc.text, 'utf8'), now, now,
      );
    } else {
      db.prepare('UPDATE documents SET source = ?, title = ?, path = ?, text = ?, hash = ?, bytes = ?, updated = ? WHERE id = ?').run(
        doc.source, doc.title, doc.path, doc.text, docHash, Buffer.byteLength(doc.text, 'utf8'), now, id,
      );
    }
    deleteVectors(db, removed);
    const del = db.prepare('DELETE FROM chunks WHERE id = ?');
    for (const cid of removed) del.run(cid);
    const reseq = db.prepare('UPDATE chunks SET seq = ? WHERE id = ?');
    for (const p of plan) if (p.keep !== undefined && p.keep.seq !== p.seq) reseq.run(p.seq, p.keep.id);
    let targets: IndexRow[] = listIndexes(db).filter((i) => i.embedder === opts.embedder.kind && i.model === opts.embedder.model);
    let createdIdx: IndexRow | undefined;
    if (targets.length === 0 && vectors[0] !== undefined && listIndexes(db).length === 0) {
      // The first document of a fresh memory.db creates its index; later embedder changes go through the indexer.
      const idx = createIndex(db, { embedder: opts.embedder.kind, model: opts.embedder.model, dim: vectors[0].length, quantization: opts.quantization }, now);
      targets = [idx];
      createdIdx = idx;
    }
    const ins = db.prepare(
      'INSERT INTO chunks (doc_id, seq, source, title, path, text, hash, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    toWrite.forEach((p, i) => {
      const chunkId = Number(ins.run(id, p.seq, doc.source, doc.title, doc.path, p.text, p.hash, now, now).lastInsertRowid);
      const v = vectors[i] as Float32Array;
      if (fresh[i] === true) cacheVector(db, opts.embedder, p.hash, v, now);
      for (const idx of targets) insertVector(db, idx, chunkId, v, doc.source, now);
    });
    if (createdIdx !== undefined) {
      const total = (db.prepare('SELECT count(*) AS n FROM chunks').get() as { n: number }).n;
      if (countVectors(db, createdIdx) === total) setProgress(db, createdIdx.name, total, total, 'ready');
    }
    for (const idx of targets) {
      if (idx.state === 'ready') {
        db.prepare('UPDATE vec_indexes SET done = (SELECT count(*) FROM chunks), total = (SELECT count(*) FROM chunks) WHERE name = ?').run(idx.name);
      }
    }
  })();
  return { id, created: existing === undefined, added: toWrite.length, removed: removed.length, kept: keptIds.size };
}

export function getDocument(db: Database.Database, id: string): (DocumentView & { text: string }) | undefined {
  return db
    .prepare(
      'SELECT d.id, d.title, d.source, d.path, d.bytes, d.created, d.updated, d.text, (SELECT count(*) FROM chunks c WHERE c.doc_id = d.id) AS chunks FROM documents d WHERE d.id = ?',
    )
    .get(id) as (DocumentView & { text: string }) | undefined;
}

/** Deletes a document, its chunks, their FTS rows and vectors, in one transaction. */
export function deleteDocument(db: Database.Database, id: string): boolean {
  return db.transaction(() => {
    const ids = (db.prepare('SELECT id FROM chunks WHERE doc_id = ?').all(id) as { id: number }[]).map((r) => r.id);
    deleteVectors(db, ids);
    db.prepare('DELETE FROM chunks WHERE doc_id = ?').run(id);
    return db.prepare('DELETE FROM documents WHERE id = ?').run(id).changes > 0;
  })();
}

/** Documents by id, `limit` at a time; `cursor` is the last id seen (exclusive). */
export function listDocuments(
  db: Database.Database,
  opts: { limit: number; cursor?: string; source?: string },
): { documents: DocumentView[]; nextCursor: string | null } {
  const where: string[] = [];
  const args: unknown[] = [];
  if (opts.cursor !== undefined) {
    where.push('d.id > ?');
    args.push(opts.cursor);
  }
  if (opts.source !== undefined) {
    where.push('d.source = ?');
    args.push(opts.source);
  }
  const limit = Math.max(1, Math.min(1000, Math.trunc(opts.limit)));
  const rows = db
    .prepare(
      `SELECT d.id, d.title, d.source, d.path, d.bytes, d.created, d.updated, (SELECT count(*) FROM chunks c WHERE c.doc_id = d.id) AS chunks
       FROM documents d ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY d.id LIMIT ?`,
    )
    .all(...args, limit + 1) as DocumentView[];
  const more = rows.length > limit;
  const documents = more ? rows.slice(0, limit) : rows;
  return { documents, nextCursor: more ? (documents[documents.length - 1]?.id ?? null) : null };
}
