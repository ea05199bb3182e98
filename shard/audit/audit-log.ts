// The shard's append-only, hash-chained audit log (<data>/audit.log). It outlives deleted tenants.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, ftruncateSync, writeSync } from 'node:fs';
import { GENESIS_HASH, hashRecord, type AuditInput, type AuditRecord } from './audit-record.ts';

export interface AuditLogOptions {
  path: string;
  now?: () => Date;
  /** Called when start-up found and cut a torn final line (a crash mid-append). */
  onTornTail?: (bytes: number) => void;
}

export class AuditLog {
  readonly path: string;
  private fd: number;
  private seq: number;
  private prev: string;
  private readonly now: () => Date;

  constructor(opts: AuditLogOptions) {
    this.path = opts.path;
    this.now = opts.now ?? (() => new Date());
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

  /** Appends one record and fsyncs it; returns it. Synchronous, so records never interleave. */
  append(input: AuditInput): AuditRecord {
    const base: Omit<AuditRecord, 'hash'> = { v: 1, seq: this.seq + 1, ts: this.now().toISOString(), ...input, prev: this.prev };
    const rec: AuditRecord = { ...base, hash: hashRecord(base) };
    const line = Buffer.from(`${JSON.stringify(rec)}\n`, 'utf8');
    let off = 0;
    while (off < line.length) off += writeSync(this.fd, line, off, line.length - off);
    fsyncSync(this.fd);
    this.seq = rec.seq;
    this.prev = rec.hash;
    return rec;
  }

  close(): void {
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
    }
  }
}

/** Finds the last complete record: its seq and hash, and where the good bytes end. */
function scanTail(path: string): { seq: number; prev: string; goodBytes: number; totalBytes: number } {
  const buf = readFileSync(path);
  let end = buf.length;
  // Everything after the last newline is a torn line.
  const lastNl = buf.lastIndexOf(0x0a);
  const goodBytes = lastNl + 1;
  end = lastNl;
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
