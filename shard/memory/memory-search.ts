// Hybrid retrieval over one memory.db: FTS5 BM25 candidates + vec0 KNN candidates, re-ranked at full precision.
import type Database from 'better-sqlite3';
import { isAppError } from '../../router/errors/app-error.ts';
import type { Embedder } from './embedder.ts';
import { blobToVector, dot } from './embedder.ts';
import { wordTokens } from './hashing-embedder.ts';
import { rankCandidates, type Candidate, type RankOptions } from './hybrid-score.ts';
import { findIndex, knn, type Quantization, type VectorFilter } from './vector-index.ts';

export interface SearchOptions extends Omit<RankOptions, 'limit'>, VectorFilter {
  readonly limit: number;
  readonly quantization: Quantization;
  /** Candidates taken from each retriever before fusion; default max(4·limit, 20). */
  readonly candidates?: number;
  /** Extra KNN candidates per result on a quantised index, before the full-precision re-rank. */
  readonly oversample?: number;
  readonly signal?: AbortSignal;
}

export interface SearchHit {
  /** The document id (what memory.get / memory.delete take). */
  readonly id: string;
  readonly chunkId: number;
  readonly title: string | null;
  readonly text: string;
  readonly source: string;
  readonly path: string | null;
  readonly updated: number;
  readonly score: number;
}

export interface SearchOutcome {
  readonly results: SearchHit[];
  /** What actually ran: 'keyword' while vectors are being (re)built or the embedder failed. */
  readonly mode: 'hybrid' | 'keyword' | 'vector' | 'none';
}

/** An FTS5 MATCH expression from free text: each word quoted (no operator injection), OR-ed. */
export function ftsQuery(text: string): string | undefined {
  let words = wordTokens(text);
  if (words.length === 0) words = text.normalize('NFKC').toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  const uniq = [...new Set(words)].slice(0, 32);
  if (uniq.length === 0) return undefined;
  return uniq.map((w) => `"${w.replaceAll('"', '""')}"`).join(' OR ');
}

function filters(o: VectorFilter, args: unknown[]): string {
  const w: string[] = [];
  if (o.source !== undefined) {
    w.push('c.source = ?');
    args.push(o.source);
  }
  if (o.since !== undefined) {
    w.push('c.updated >= ?');
    args.push(o.since);
  }
  if (o.until !== undefined) {
    w.push('c.updated <= ?');
    args.push(o.until);
  }
  return w.map((x) => ` AND ${x}`).join('');
}

export async function searchMemory(db: Database.Database, embedder: Embedder | undefined, query: string, o: SearchOptions): Promise<SearchOutcome> {
  const n = Math.max(1, Math.trunc(o.candidates ?? Math.max(4 * o.limit, 20)));
  const kw = new Map<number, number>();
  if (o.keywordWeight > 0) {
    const match = ftsQuery(query);
    if (match !== undefined) {
      const args: unknown[] = [match];
      const where = filters(o, args);
      // Without filters the chunks table stays out of the query, so FTS5 can take its ORDER BY rank fast path.
      const sql =
        where === ''
          ? 'SELECT rowid AS id, rank FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY rank LIMIT ?'
          : `SELECT c.id AS id, f.rank AS rank FROM chunks_fts f JOIN chunks c ON c.id = f.rowid WHERE chunks_fts MATCH ?${where} ORDER BY f.rank LIMIT ?`;
      const rows = db.prepare(sql).all(...args, n) as { id: number; rank: number }[];
      for (const r of rows) kw.set(r.id, -r.rank);
    }
  }

  let qv: Float32Array | undefined;
  const vecIds: number[] = [];
  const idx = embedder === undefined ? undefined : findIndex(db, embedder.kind, embedder.model, o.quantization);
  if (o.vectorWeight > 0 && embedder !== undefined && idx?.state === 'ready' && query.trim() !== '') {
    try {
      qv = (await embedder.embed([query], o.signal))[0];
    } catch (err) {
      // A failing remote embedder degrades search to keywords rather than failing it.
      if (!isAppError(err) || err.code !== 'MEMORY_EMBEDDER_UNAVAILABLE') throw err;
    }
    if (qv !== undefined && qv.length === idx.dim) {
      const k = idx.quantization === 'none' ? n : n * Math.max(1, o.oversample ?? 4);
      for (const r of knn(db, idx, qv, k, o)) vecIds.push(r.chunkId);
    } else qv = undefined;
  }
  const ids = [...new Set([...kw.keys(), ...vecIds])];
  if (ids.length === 0) return { results: [], mode: 'none' };

  const rows = new Map<number, { id: number; doc_id: string; title: string | null; text: string; source: string; path: string | null; updated: number; vector: Buffer | null }>();
  const stmt = db.prepare(
    `SELECT c.id, c.doc_id, c.title, c.text, c.source, c.path, c.updated, e.vector FROM chunks c
     LEFT JOIN embedding_cache e ON e.embedder = ? AND e.model = ? AND e.hash = c.hash
     WHERE c.id IN (SELECT value FROM json_each(?))`,
  );
  for (const r of stmt.all(embedder?.kind ?? '', embedder?.model ?? '', JSON.stringify(ids)) as (typeof rows extends Map<number, infer R> ? R : never)[]) {
    rows.set(r.id, r);
  }
  const cands: Candidate[] = [];
  for (const id of ids) {
    const r = rows.get(id);
    if (r === undefined) continue;
    const vector = qv !== undefined && r.vector !== null ? blobToVector(r.vector) : undefined;
    cands.push({
      chunkId: id,
      docId: r.doc_id,
      vector,
      vectorSim: qv !== undefined && vector !== undefined ? dot(qv, vector) : undefined,
      keyword: kw.get(id),
      updated: r.updated,
    });
  }
  const useVector = qv !== undefined;
  const useKeyword = o.keywordWeight > 0;
  const ranked = rankCandidates(cands, {
    ...o,
    // While vectors are unavailable, the keyword score alone ranks (not a half-weighted one).
    vectorWeight: useVector ? o.vectorWeight : 0,
    keywordWeight: useKeyword ? o.keywordWeight : 0,
  });
  const results = ranked.map((c) => {
    const r = rows.get(c.chunkId) as NonNullable<ReturnType<typeof rows.get>>;
    return { id: r.doc_id, chunkId: r.id, title: r.title, text: r.text, source: r.source, path: r.path, updated: r.updated, score: c.score };
  });
  return { results, mode: useVector && useKeyword ? 'hybrid' : useVector ? 'vector' : useKeyword ? 'keyword' : 'none' };
}
