// Billing periods and the stable CSV export of ledger rows (columns never change order or name).
import { AppError } from '../../../router/errors/app-error.ts';
import type { LedgerRow } from '../usage/usage-ledger.ts';

export const BILLING_CSV_COLUMNS = [
  'timestamp',
  'tenant_id',
  'request_id',
  'session_id',
  'kind',
  'model',
  'status',
  'input_tokens',
  'cache_read_tokens',
  'cache_write_tokens',
  'output_tokens',
  'reasoning_tokens',
  'tool_calls',
  'rate_input_usd_per_mtok',
  'rate_output_usd_per_mtok',
  'rate_cache_read_usd_per_mtok',
  'rate_cache_write_usd_per_mtok',
  'rate_reasoning_usd_per_mtok',
  'cost_usd',
] as const;

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Parses `from`/`to` (ISO dates or timestamps, UTC). `to` is exclusive, except that a date-only
 * `to` includes that whole day. Defaults: the current UTC month up to now.
 */
export function billingPeriod(from: string | undefined, to: string | undefined, nowMs: number): { fromMs: number; toMs: number } {
  const parse = (v: string, field: string, endOfDay: boolean): number => {
    const ms = Date.parse(DATE_ONLY.test(v) ? `${v}T00:00:00Z` : v);
    if (!Number.isFinite(ms)) throw new AppError('VALIDATION_FAILED', { message: `${field} is not an ISO date`, details: { field } });
    return DATE_ONLY.test(v) && endOfDay ? ms + 86_400_000 : ms;
  };
  const d = new Date(nowMs);
  const fromMs = from === undefined ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) : parse(from, 'from', false);
  const toMs = to === undefined ? nowMs + 1 : parse(to, 'to', true);
  if (toMs < fromMs) throw new AppError('VALIDATION_FAILED', { message: 'to is before from', details: { field: 'to' } });
  return { fromMs, toMs };
}

/** RFC 4180 quoting, and a leading quote on cells a spreadsheet would run as a formula. */
export function csvCell(v: string | number | null): string {
  if (v === null) return '';
  if (typeof v === 'number') return String(v);
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function csvHeader(): string {
  return `${BILLING_CSV_COLUMNS.join(',')}\r\n`;
}

export function csvRow(tenantId: string, r: LedgerRow): string {
  const cells: (string | number | null)[] = [
    r.ts, tenantId, r.requestId, r.sessionId, r.kind, r.model, r.status, r.inputTokens, r.cacheReadTokens, r.cacheWriteTokens,
    r.outputTokens, r.reasoningTokens, r.toolCalls, r.rate.input, r.rate.output, r.rate.cacheRead, r.rate.cacheWrite, r.rate.reasoning,
    Number(r.costUsd.toFixed(9)),
  ];
  return `${cells.map(csvCell).join(',')}\r\n`;
}
