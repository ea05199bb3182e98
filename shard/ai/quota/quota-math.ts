// Pure quota arithmetic: UTC windows, and whether a reservation fits under every limit.
import type { ErrorCode } from '../../../router/errors/codes.ts';
import type { Quota } from '../../tenants/tenant-record.ts';

export interface Windows {
  dayStart: number;
  dayEnd: number;
  monthStart: number;
  monthEnd: number;
}

export function windowsAt(nowMs: number): Windows {
  const d = new Date(nowMs);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  const day = d.getUTCDate();
  return {
    dayStart: Date.UTC(y, m, day),
    dayEnd: Date.UTC(y, m, day + 1),
    monthStart: Date.UTC(y, m, 1),
    monthEnd: Date.UTC(y, m + 1, 1),
  };
}

/** Tokens and dollars, settled (in the ledger) plus reserved (in flight), per window. */
export interface Consumption {
  tokensDay: number;
  tokensMonth: number;
  usdDay: number;
  usdMonth: number;
}

export interface Want {
  tokens: number;
  usd: number;
  /** A session that is not already running (counts against concurrentSessions). */
  newSession: boolean;
}

export interface Refusal {
  code: ErrorCode;
  limit: keyof Quota;
  max: number;
  used: number;
  retryAfterSeconds: number;
}

export const RPM_WINDOW_MS = 60_000;

/** Seconds until `t` (at least 1), for Retry-After. */
function secondsUntil(t: number, now: number): number {
  return Math.max(1, Math.ceil((t - now) / 1000));
}

/**
 * Decides admission. `recent` holds the admission times of the last minute (sliding window).
 * Order: requests/minute, concurrent sessions, tokens/day, tokens/month, USD/day, USD/month.
 * A limit holds when used + want ≤ max, so admitted work never takes a window past its limit.
 */
export function checkAdmission(q: Quota, c: Consumption, want: Want, recent: readonly number[], activeSessions: number, now: number): Refusal | null {
  const w = windowsAt(now);
  if (q.requestsPerMinute !== undefined) {
    const inWindow = recent.filter((t) => t > now - RPM_WINDOW_MS);
    if (inWindow.length >= q.requestsPerMinute) {
      // the slot frees when the oldest admission that keeps us at the limit leaves the window
      const oldest = inWindow[inWindow.length - q.requestsPerMinute] ?? now;
      return { code: 'QUOTA_REQUESTS_MINUTE', limit: 'requestsPerMinute', max: q.requestsPerMinute, used: inWindow.length, retryAfterSeconds: secondsUntil(oldest + RPM_WINDOW_MS, now) };
    }
  }
  if (q.concurrentSessions !== undefined && want.newSession && activeSessions >= q.concurrentSessions) {
    return { code: 'QUOTA_CONCURRENT_SESSIONS', limit: 'concurrentSessions', max: q.concurrentSessions, used: activeSessions, retryAfterSeconds: 1 };
  }
  const checks: [keyof Quota, ErrorCode, number | undefined, number, number, number][] = [
    ['tokensPerDay', 'QUOTA_TOKENS_DAY', q.tokensPerDay, c.tokensDay, want.tokens, w.dayEnd],
    ['tokensPerMonth', 'QUOTA_TOKENS_MONTH', q.tokensPerMonth, c.tokensMonth, want.tokens, w.monthEnd],
    ['usdPerDay', 'QUOTA_USD_DAY', q.usdPerDay, c.usdDay, want.usd, w.dayEnd],
    ['usdPerMonth', 'QUOTA_USD_MONTH', q.usdPerMonth, c.usdMonth, want.usd, w.monthEnd],
  ];
  for (const [limit, code, max, used, add, resetAt] of checks) {
    // a tiny epsilon absorbs float noise in dollar sums (1e-9 USD)
    if (max !== undefined && used + add > max + 1e-9) return { code, limit, max, used, retryAfterSeconds: secondsUntil(resetAt, now) };
  }
  return null;
}
