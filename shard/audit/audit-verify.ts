// Verifies an audit log's hash chain and reports the first broken record (pure over the text).
import { GENESIS_HASH, hashRecord, type AuditRecord } from './audit-record.ts';

export type AuditProblem = 'unparseable' | 'hash-mismatch' | 'prev-mismatch' | 'seq-gap';

export interface AuditVerifyResult {
  ok: boolean;
  records: number;
  /** The last line was incomplete (a crash mid-append); tolerated, not counted. */
  tornTail: boolean;
  firstBroken?: { line: number; seq: number | null; problem: AuditProblem; detail: string };
  lastHash: string;
}

export function verifyAuditText(text: string): AuditVerifyResult {
  const endsWithNewline = text.endsWith('\n');
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  let prev = GENESIS_HASH;
  let expectedSeq: number | null = null;
  let records = 0;
  let tornTail = false;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] as string;
    const lineNo = i + 1;
    const isLast = i === lines.length - 1;
    let rec: AuditRecord;
    try {
      rec = JSON.parse(raw) as AuditRecord;
      if (typeof rec !== 'object' || rec === null || typeof rec.hash !== 'string') throw new Error('not a record');
    } catch {
      if (isLast && !endsWithNewline) {
        tornTail = true;
        break;
      }
      return { ok: false, records, tornTail, lastHash: prev, firstBroken: { line: lineNo, seq: null, problem: 'unparseable', detail: 'the line is not a JSON audit record' } };
    }
    if (expectedSeq !== null && rec.seq !== expectedSeq) {
      return { ok: false, records, tornTail, lastHash: prev, firstBroken: { line: lineNo, seq: rec.seq, problem: 'seq-gap', detail: `expected seq ${expectedSeq}, found ${rec.seq}` } };
    }
    if (rec.prev !== prev) {
      return { ok: false, records, tornTail, lastHash: prev, firstBroken: { line: lineNo, seq: rec.seq, problem: 'prev-mismatch', detail: 'prev does not equal the previous record hash (a record was deleted, inserted or reordered)' } };
    }
    const { hash, ...rest } = rec;
    if (hashRecord(rest) !== hash) {
      return { ok: false, records, tornTail, lastHash: prev, firstBroken: { line: lineNo, seq: rec.seq, problem: 'hash-mismatch', detail: 'the record was edited after it was written' } };
    }
    prev = hash;
    expectedSeq = rec.seq + 1;
    records++;
  }
  return { ok: true, records, tornTail, lastHash: prev };
}
