// Builds a vector index in the background (embedder or quantization changed) while search keeps working.
import type Database from 'better-sqlite3';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { toAppError } from '../../router/errors/app-error.ts';
import type { Embedder } from './embedder.ts';
import { cacheVector, embedWithCache } from './memory-documents.ts';
import { countVectors, createIndex, dropIndex, findIndex, hasVector, insertVector, listIndexes, setProgress, type IndexRow, type Quantization } from './vector-index.ts';

export interface IndexStatus {
  readonly state: 'ready' | 'building' | 'none';
  readonly index: string | null;
  readonly embedder: string;
  readonly model: string;
  readonly quantization: Quantization;
  readonly done: number;
  readonly total: number;
  /** The last background failure for this database (code only), if the build stopped on one. */
  readonly error: string | null;
}

interface Job {
  readonly name: string;
  readonly controller: AbortController;
  readonly promise: Promise<void>;
}

const jobs = new WeakMap<Database.Database, Job>();
const errors = new WeakMap<Database.Database, string>();
const BATCH = 64;

export function indexStatus(db: Database.Database, embedder: Embedder, quantization: Quantization): IndexStatus {
  const idx = findIndex(db, embedder.kind, embedder.model, quantization);
  const total = (db.prepare('SELECT count(*) AS n FROM chunks').get() as { n: number }).n;
  return {
    state: idx?.state ?? 'none',
    index: idx?.name ?? null,
    embedder: embedder.kind,
    model: embedder.model,
    quantization,
    done: idx === undefined ? 0 : idx.state === 'ready' ? total : idx.done,
    total,
    error: errors.get(db) ?? null,
  };
}

/** The running build of this database, if any (tests and shutdown await it). */
export function runningBuild(db: Database.Database): Promise<void> | undefined {
  return jobs.get(db)?.promise;
}

/** Stops a running build (it stops between batches; everything it wrote stays valid). */
export async function stopBuild(db: Database.Database): Promise<void> {
  const job = jobs.get(db);
  if (job === undefined) return;
  job.controller.abort();
  await job.promise;
}

/**
 * Makes sure an index for (embedder, quantization) exists and is ready or being built; starts the
 * background build when needed and returns at once with the index row. `rebuild` drops it first.
 */
export async function ensureIndex(
  db: Database.Database,
  embedder: Embedder,
  quantization: Quantization,
  opts: { now: () => number; rebuild?: boolean },
): Promise<IndexRow> {
  let idx = findIndex(db, embedder.kind, embedder.model, quantization);
  if (idx !== undefined && opts.rebuild === true) {
    await stopBuild(db);
    dropIndex(db, idx.name);
    idx = undefined;
  }
  if (idx === undefined) {
    const [probe] = await embedder.embed(['dimension probe']);
    idx = findIndex(db, embedder.kind, embedder.model, quantization);
    if (idx === undefined) {
      if (probe === undefined) throw new RangeError('embedder returned no vector');
      idx = createIndex(db, { embedder: embedder.kind, model: embedder.model, dim: probe.length, quantization }, opts.now());
    }
  }
  if (idx.state === 'ready') {
    for (const other of listIndexes(db)) if (other.name !== idx.name && jobs.get(db)?.name !== other.name) dropIndex(db, other.name);
    return idx;
  }
  const running = jobs.get(db);
  if (running?.name === idx.name) return idx;
  if (running !== undefined) await stopBuild(db);
  startBuild(db, idx, embedder, opts.now);
  return idx;
}

function startBuild(db: Database.Database, idx: IndexRow, embedder: Embedder, now: () => number): void {
  const controller = new AbortController();
  errors.delete(db);
  const promise = build(db, idx, embedder, now, controller.signal)
    .catch((err: unknown) => {
      errors.set(db, toAppError(err).code);
    })
    .finally(() => {
      if (jobs.get(db)?.name === idx.name) jobs.delete(db);
    });
  jobs.set(db, { name: idx.name, controller, promise });
}

async function build(db: Database.Database, idx: IndexRow, embedder: Embedder, now: () => number, signal: AbortSignal): Promise<void> {
  const alive = (): boolean => db.open && !signal.aborted && findIndex(db, idx.embedder, idx.model, idx.quantization)?.name === idx.name;
  let cursor = 0;
  for (;;) {
    // Yield between batches: a build must never hold the event loop (the hashing embedder is synchronous).
    await yieldToLoop();
    if (!alive()) return;
    const rows = db.prepare('SELECT id, text, hash, source, updated FROM chunks WHERE id > ? ORDER BY id LIMIT ?').all(cursor, BATCH) as {
      id: number;
      text: string;
      hash: string;
      source: string;
      updated: number;
    }[];
    if (rows.length === 0) {
      const finished = db.transaction(() => {
        const total = (db.prepare('SELECT count(*) AS n FROM chunks').get() as { n: number }).n;
        if (countVectors(db, idx) < total) return false; // chunks arrived behind the cursor: another pass
        setProgress(db, idx.name, total, total, 'ready');
        for (const other of listIndexes(db)) if (other.name !== idx.name) dropIndex(db, other.name);
        return true;
      })();
      if (finished) return;
      cursor = 0;
      continue;
    }
    const todo = rows.filter((r) => !hasVector(db, idx, r.id));
    if (todo.length > 0) {
      const { vectors, fresh } = await embedWithCache(
        db,
        embedder,
        todo.map((r) => r.text),
        todo.map((r) => r.hash),
        signal,
      );
      if (!alive()) return;
      db.transaction(() => {
        const exists = db.prepare('SELECT 1 FROM chunks WHERE id = ?');
        todo.forEach((r, i) => {
          const v = vectors[i] as Float32Array;
          if (fresh[i] === true) cacheVector(db, embedder, r.hash, v, now());
          if (exists.get(r.id) !== undefined && !hasVector(db, idx, r.id)) insertVector(db, idx, r.id, v, r.source, r.updated);
        });
        const total = (db.prepare('SELECT count(*) AS n FROM chunks').get() as { n: number }).n;
        setProgress(db, idx.name, countVectors(db, idx), total, 'building');
      })();
    }
    cursor = (rows[rows.length - 1] as { id: number }).id;
  }
}
