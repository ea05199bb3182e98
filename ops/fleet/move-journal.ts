// The rebalance journal in the blob store (fleet/journal/current.json): resumable, written with
// compare-and-swap so two rebalances cannot run over each other.
import { z } from 'zod';
import { AppError, isAppError } from '../../router/errors/app-error.ts';
import type { BlobStore } from '../../router/blob/blob-store.ts';

export const JOURNAL_KEY = 'fleet/journal/current.json';

export const MoveStateSchema = z.enum(['planned', 'frozen', 'snapshotted', 'imported', 'committed', 'done', 'rolled-back', 'failed']);
export type MoveState = z.infer<typeof MoveStateSchema>;

export const JournalMoveSchema = z.object({
  tenant: z.string(),
  from: z.string(),
  to: z.string(),
  state: MoveStateSchema,
  /** The tenant's epoch on the source when frozen; the move commits epoch + 1. */
  epoch: z.number().int().optional(),
  snapshotKey: z.string().optional(),
  /** The source acknowledged `moved` (else start-up fencing on the source will). */
  sourceMarked: z.boolean().default(false),
  frozenMs: z.number().optional(),
  error: z.string().optional(),
  updatedAt: z.string(),
});
export type JournalMove = z.infer<typeof JournalMoveSchema>;

export const JournalSchema = z.object({
  id: z.string(),
  createdAt: z.string(),
  reason: z.string(),
  finished: z.boolean(),
  moves: z.array(JournalMoveSchema),
});
export type Journal = z.infer<typeof JournalSchema>;

export const TERMINAL: ReadonlySet<MoveState> = new Set(['done', 'rolled-back']);

/** Serialises journal writes of one process; a write that loses a CAS means another run is active. */
export class JournalWriter {
  readonly #blob: BlobStore;
  #etag: string | null;
  #chain: Promise<unknown> = Promise.resolve();
  journal: Journal;

  private constructor(blob: BlobStore, journal: Journal, etag: string | null) {
    this.#blob = blob;
    this.journal = journal;
    this.#etag = etag;
  }

  static async read(blob: BlobStore): Promise<{ journal: Journal; etag: string } | null> {
    const got = await blob.get(JOURNAL_KEY);
    if (got === null) return null;
    return { journal: JournalSchema.parse(JSON.parse(got.body.toString('utf8'))), etag: got.etag };
  }

  /** Starts a new journal, replacing a finished one (CAS against what was read). */
  static async start(blob: BlobStore, journal: Journal, previousEtag: string | null): Promise<JournalWriter> {
    const w = new JournalWriter(blob, journal, previousEtag);
    await w.save();
    return w;
  }

  static resume(blob: BlobStore, journal: Journal, etag: string): JournalWriter {
    return new JournalWriter(blob, journal, etag);
  }

  update(tenant: string, patch: Partial<JournalMove>): Promise<void> {
    const m = this.journal.moves.find((x) => x.tenant === tenant);
    if (m !== undefined) Object.assign(m, patch, { updatedAt: new Date().toISOString() });
    return this.save();
  }

  finish(): Promise<void> {
    this.journal.finished = true;
    return this.save();
  }

  save(): Promise<void> {
    const run = this.#chain.then(async () => {
      const body = `${JSON.stringify(this.journal, null, 2)}\n`;
      try {
        const { etag } = await this.#blob.put(JOURNAL_KEY, body, { contentType: 'application/json', ...(this.#etag === null ? { ifNoneMatch: '*' as const } : { ifMatch: this.#etag }) });
        this.#etag = etag;
      } catch (err) {
        if (isAppError(err) && (err.code === 'BLOB_PRECONDITION_FAILED' || err.code === 'BLOB_EXISTS')) {
          throw new AppError('MOVE_CONFLICT', { message: 'Another rebalance changed the journal: only one may run at a time.', cause: err });
        }
        throw err;
      }
    });
    this.#chain = run.catch(() => undefined);
    return run;
  }
}
