// The shard's append-only, hash-chained audit log (<data>/audit.log). It outlives deleted tenants.
// Records are chained synchronously (append order = chain order) and made durable in batches: one
// write and one fsync per batch (group commit), off the event loop. The HTTP layer waits for
// `flushed()` before answering, so an acknowledged operation's record is on disk.
import { closeSync, existsSync, fdatasync, fsyncSync, openSync, readFileSync, ftruncateSync, write as fsWrite } from 'node:fs';
import { AppError } from '../../router/index.ts';
import { GENESIS_HASH, hashRecord, type AuditInput, type AuditRecord } from './audit-record.ts';

export interface AuditLogOptions {
  path: string;
  now?: () => Date;
  /** Called when start-up found and cut a torn final line (a crash mid-append). */
  onTornTail?: (bytes: number) => void;
  /** Called when a batch could not be written (the shard should stop acknowledging). */
  onError?: (err: unknown) => void;
}

export class AuditLog {
  readonly path: string;
  private fd: number;
  private seq: number;
  private prev: string;
  private readonly now: () => Date;
  private readonly onError: (err: unknown) => void;
  private pending: Buffer[] = [];
  private flushing: Promise<void> | null = null;
  private failure: unknown = null;

  constructor(opts: AuditLogOptions) {
    this.path = opts.path;
    this.now = opts.now ?? (() => new Date());
    this.onError = opts.onError ?? (() => {});
    const { seq, prev, goodBytes, totalBytes } = existsSync(opts.path) ? scanTail(opts.path) : { seq: 0, prev: GENESIS_HASH, goodBytes: 0, totalBytes: 0 };
    this.fd = openSync(opts.path, 'a', 0o600);
    if (goodBytes < totalBytes) {
      // A torn last line would end up in the middle of the chain: cut it before appending.
      ftruncateSync(this.fd, goodBytes);
      fsyncSync(this.fd);
      opts.onTornTail?.(totalBytes - goodBytes);
    }
    this.seq = seq;
    this.prev = prev;
  }

  /** Chains one record now and queues it for the next durable batch; returns it. */
  append(input: AuditInput): AuditRecord {
    const base: Omit<AuditRecord, 'hash'> = { v: 1, seq: this.seq + 1, ts: this.now().toISOString(), ...input, prev: this.prev };
    const rec: AuditRecord = { ...base, hash: hashRecord(base) };
    this.pending.push(Buffer.from(`${JSON.stringify(rec)}\n`, 'utf8'));
    this.seq = rec.seq;
    this.prev = rec.hash;
    this.kick();
    return rec;
  }

  /**
   * Resolves when every record appended so far is on disk. Rejects if writing failed, and with
   * SHARD_DRAINING for records appended after close() (they can no longer be written, so whatever
   * waited on them must not be acknowledged).
   */
  async flushed(): Promise<void> {
    while (this.flushing !== null || this.pending.length > 0) {
      if (this.failure !== null) throw this.failure;
      if (this.flushing === null && this.fd < 0) throw new AppError('SHARD_DRAINING', { message: 'The audit log is closed; the operation was not acknowledged.' });
      this.kick();
      await this.flushing;
    }
    if (this.failure !== null) throw this.failure;
  }

  private kick(): void {
    if (this.flushing !== null || this.pending.length === 0 || this.fd < 0) return;
    const batch = Buffer.concat(this.pending.splice(0));
    const fd = this.fd;
    this.flushing = new Promise<void>((resolve) => {
      // write + fsync on the thread pool via fs callbacks (one batch at a time keeps the order).
      writeAll(fd, batch, (err) => {
        if (err !== null) {
          this.failure = err;
          this.onError(err);
        }
        this.flushing = null;
        resolve();
        this.kick();
      });
    });
  }

  /** Makes everything appended durable, then closes the file. */
  async close(): Promise<void> {
    if (this.fd < 0) return;
    try {
      await this.flushed();
    } finally {
      closeSync(this.fd);
      this.fd = -1;
    }
  }
}

function writeAll(fd: number, buf: Buffer, done: (err: Error | null) => void, off = 0): void {
  fsWrite(fd, buf, off, buf.length - off, null, (err, n) => {
    if (err !== null) return done(err);
    if (off + n < buf.length) return writeAll(fd, buf, done, off + n);
    fdatasync(fd, (e) => done(e ?? null));
  });
}

/** Finds the last complete record: its seq and hash, and where the good bytes end. */
function scanTail(path: string): { seq: number; prev: string; goodBytes: number; totalBytes: number } {
  const buf = readFileSync(path);
  // Everything after the last newline is a torn line.
  const lastNl = buf.lastIndexOf(0x0a);
  const goodBytes = lastNl + 1;
  const end = lastNl;
  if (end <= 0) return { seq: 0, prev: GENESIS_HASH, goodBytes, totalBytes: buf.length };
  const start = buf.lastIndexOf(0x0a, end - 1) + 1;
  const line = buf.subarray(start, end).toString('utf8');
  try {
    const rec = JSON.parse(line) as AuditRecord;
    if (typeof rec.seq === 'number' && typeof rec.hash === 'string') {
      return { seq: rec.seq, prev: rec.hash, goodBytes, totalBytes: buf.length };
    }
  } catch {
    /* fall through */
  }
  // The last complete line is not a record: treat it as torn too.
  return { ...scanTailFrom(buf.subarray(0, start)), goodBytes: start, totalBytes: buf.length };
}

function scanTailFrom(buf: Buffer): { seq: number; prev: string } {
  const text = buf.toString('utf8').trimEnd();
  const last = text.slice(text.lastIndexOf('\n') + 1);
  if (last === '') return { seq: 0, prev: GENESIS_HASH };
  const rec = JSON.parse(last) as AuditRecord;
  return { seq: rec.seq, prev: rec.hash };
}
