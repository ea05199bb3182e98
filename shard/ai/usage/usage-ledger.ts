// The usage ledger in state.db: one row per model call, cost snapshotted at write time.
import type Database from 'better-sqlite3';
import type { Usage } from '../providers/provider.ts';
import { costOf, type AppliedRate } from './rate-card.ts';

export interface LedgerInput {
  tsMs: number;
  requestId: string;
  sessionId: string | null;
  kind: 'chat' | 'embeddings';
  model: string;
  status: 'ok' | 'aborted' | 'error';
  usage: Usage;
  toolCalls: number;
  rate: AppliedRate;
}

export interface LedgerRow {
  id: number;
  ts: string;
  requestId: string;
  sessionId: string | null;
  kind: string;
  model: string;
  status: string;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
  toolCalls: number;
  rate: AppliedRate;
  costUsd: number;
}

export interface Totals {
  requests: number;
  tokens: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
  costUsd: number;
}

const insertCache = new WeakMap<Database.Database, Database.Statement>();

/** Appends a row; returns its cost. The caller's db runs with synchronous=FULL. */
export function appendLedger(db: Database.Database, e: LedgerInput): { id: number; costUsd: number } {
  const costUsd = costOf(e.usage, e.rate);
  let insert = insertCache.get(db);
  if (insert === undefined) {
    insert = db.prepare(
      `INSERT INTO usage_ledger (ts, ts_ms, request_id, session_id, kind, model, status, input_tokens, output_tokens,
        cache_read_tokens, cache_write_tokens, reasoning_tokens, tool_calls, rate_input, rate_output, rate_cache_read,
        rate_cache_write, rate_reasoning, cost_usd) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
    );
    insertCache.set(db, insert);
  }
  const info = insert.run(
      new Date(e.tsMs).toISOString(), e.tsMs, e.requestId, e.sessionId, e.kind, e.model, e.status,
      e.usage.input, e.usage.output, e.usage.cacheRead, e.usage.cacheWrite, e.usage.reasoning, e.toolCalls,
      e.rate.input, e.rate.output, e.rate.cacheRead, e.rate.cacheWrite, e.rate.reasoning, costUsd,
    );
  return { id: Number(info.lastInsertRowid), costUsd };
}

const TOTALS_SQL = `SELECT COUNT(*) AS requests,
  COALESCE(SUM(input_tokens),0) AS i, COALESCE(SUM(output_tokens),0) AS o, COALESCE(SUM(cache_read_tokens),0) AS cr,
  COALESCE(SUM(cache_write_tokens),0) AS cw, COALESCE(SUM(reasoning_tokens),0) AS r, COALESCE(SUM(cost_usd),0) AS c
  FROM usage_ledger WHERE ts_ms >= ? AND ts_ms < ?`;

export function totalsBetween(db: Database.Database, fromMs: number, toMs: number): Totals {
  const r = db.prepare(TOTALS_SQL).get(fromMs, toMs) as { requests: number; i: number; o: number; cr: number; cw: number; r: number; c: number };
  return {
    requests: r.requests,
    tokens: r.i + r.o + r.cr + r.cw + r.r,
    inputTokens: r.i,
    outputTokens: r.o,
    cacheReadTokens: r.cr,
    cacheWriteTokens: r.cw,
    reasoningTokens: r.r,
    costUsd: r.c,
  };
}

interface RawRow {
  id: number; ts: string; request_id: string; session_id: string | null; kind: string; model: string; status: string;
  input_tokens: number; output_tokens: number; cache_read_tokens: number; cache_write_tokens: number; reasoning_tokens: number;
  tool_calls: number; rate_input: number; rate_output: number; rate_cache_read: number; rate_cache_write: number; rate_reasoning: number; cost_usd: number;
}

function toRow(r: RawRow): LedgerRow {
  return {
    id: r.id, ts: r.ts, requestId: r.request_id, sessionId: r.session_id, kind: r.kind, model: r.model, status: r.status,
    inputTokens: r.input_tokens, outputTokens: r.output_tokens, cacheReadTokens: r.cache_read_tokens, cacheWriteTokens: r.cache_write_tokens,
    reasoningTokens: r.reasoning_tokens, toolCalls: r.tool_calls,
    rate: { input: r.rate_input, output: r.rate_output, cacheRead: r.rate_cache_read, cacheWrite: r.rate_cache_write, reasoning: r.rate_reasoning },
    costUsd: r.cost_usd,
  };
}

/** Rows in [fromMs, toMs), oldest first, paged by id. */
export function rowsBetween(db: Database.Database, fromMs: number, toMs: number, afterId = 0, limit = 10_000): LedgerRow[] {
  const rows = db
    .prepare('SELECT * FROM usage_ledger WHERE ts_ms >= ? AND ts_ms < ? AND id > ? ORDER BY id LIMIT ?')
    .all(fromMs, toMs, afterId, limit) as RawRow[];
  return rows.map(toRow);
}

/** Per-day totals (UTC) in [fromMs, toMs). */
export function dailyTotals(db: Database.Database, fromMs: number, toMs: number): (Totals & { day: string })[] {
  const rows = db
    .prepare(
      `SELECT substr(ts,1,10) AS day, COUNT(*) AS requests, SUM(input_tokens) AS i, SUM(output_tokens) AS o, SUM(cache_read_tokens) AS cr,
        SUM(cache_write_tokens) AS cw, SUM(reasoning_tokens) AS r, SUM(cost_usd) AS c
       FROM usage_ledger WHERE ts_ms >= ? AND ts_ms < ? GROUP BY day ORDER BY day`,
    )
    .all(fromMs, toMs) as { day: string; requests: number; i: number; o: number; cr: number; cw: number; r: number; c: number }[];
  return rows.map((r) => ({
    day: r.day, requests: r.requests, tokens: r.i + r.o + r.cr + r.cw + r.r, inputTokens: r.i, outputTokens: r.o,
    cacheReadTokens: r.cr, cacheWriteTokens: r.cw, reasoningTokens: r.r, costUsd: r.c,
  }));
}
