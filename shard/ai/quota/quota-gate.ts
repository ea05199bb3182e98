// A tenant's quota gate: ledger-backed counters, in-flight reservations, the requests-per-minute
// window and running sessions. Exact because a tenant lives on one shard and this runs on one thread.
import type Database from 'better-sqlite3';
import { AppError } from '../../../router/errors/app-error.ts';
import type { Quota } from '../../tenants/tenant-record.ts';
import { totalsBetween } from '../usage/usage-ledger.ts';
import { checkAdmission, RPM_WINDOW_MS, windowsAt, type Consumption, type Refusal } from './quota-math.ts';

export interface Reservation {
  readonly tokens: number;
  readonly usd: number;
  done: boolean;
}

export interface RequestSlot {
  readonly sessionId: string | null;
  released: boolean;
}

export function quotaError(r: Refusal, now: number): AppError {
  return new AppError(r.code, {
    details: { limit: r.limit, max: r.max, used: r.used, retryAfterSeconds: r.retryAfterSeconds, resetsAt: new Date(now + r.retryAfterSeconds * 1000).toISOString() },
    headers: { 'retry-after': String(r.retryAfterSeconds) },
  });
}

const WINDOW_KEY = 'quota.request_window';

/** The admissions of the last minute as saved by saveRequestWindow (none when absent or unreadable). */
function loadRequestWindow(db: Database.Database, now: number): number[] {
  const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(WINDOW_KEY) as { value: string } | undefined;
  if (row === undefined) return [];
  try {
    const parsed = JSON.parse(row.value) as { recent?: unknown };
    const recent = Array.isArray(parsed.recent) ? parsed.recent : [];
    return recent.filter((t): t is number => typeof t === 'number' && t > now - RPM_WINDOW_MS && t <= now).sort((a, b) => a - b);
  } catch {
    return [];
  }
}

export class QuotaGate {
  readonly db: Database.Database;
  private readonly now: () => number;
  private windowKey = -1;
  private settled: Consumption = { tokensDay: 0, tokensMonth: 0, usdDay: 0, usdMonth: 0 };
  private reservedTokens = 0;
  private reservedUsd = 0;
  private recent: number[] = [];
  private readonly running = new Map<string, number>();

  constructor(db: Database.Database, now: () => number) {
    this.db = db;
    this.now = now;
    this.recent = loadRequestWindow(db, now());
  }

  /**
   * Writes the requests-per-minute window to state.db, so a gate rebuilt after the tenant left
   * residency (eviction, restart, move) counts the same requests. Token and cost windows need
   * nothing: they are rebuilt from the ledger.
   */
  saveRequestWindow(): void {
    const now = this.now();
    const recent = this.recent.filter((t) => t > now - RPM_WINDOW_MS);
    this.db
      .prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value')
      .run(WINDOW_KEY, JSON.stringify({ v: 1, recent }));
  }

  private refresh(now: number): void {
    const w = windowsAt(now);
    if (w.dayStart === this.windowKey) return;
    const day = totalsBetween(this.db, w.dayStart, w.dayEnd);
    const month = totalsBetween(this.db, w.monthStart, w.monthEnd);
    this.settled = { tokensDay: day.tokens, tokensMonth: month.tokens, usdDay: day.costUsd, usdMonth: month.costUsd };
    this.windowKey = w.dayStart;
  }

  consumption(): Consumption {
    const now = this.now();
    this.refresh(now);
    return {
      tokensDay: this.settled.tokensDay + this.reservedTokens,
      tokensMonth: this.settled.tokensMonth + this.reservedTokens,
      usdDay: this.settled.usdDay + this.reservedUsd,
      usdMonth: this.settled.usdMonth + this.reservedUsd,
    };
  }

  /** Admits one request (requests/minute, concurrent sessions); throws the 429 AppError otherwise. */
  admitRequest(q: Quota, sessionId: string | null): RequestSlot {
    const now = this.now();
    this.recent = this.recent.filter((t) => t > now - RPM_WINDOW_MS);
    const newSession = sessionId !== null && !this.running.has(sessionId);
    const refusal = checkAdmission(q, this.consumption(), { tokens: 0, usd: 0, newSession }, this.recent, this.running.size, now);
    if (refusal !== null) throw quotaError(refusal, now);
    this.recent.push(now);
    if (sessionId !== null) this.running.set(sessionId, (this.running.get(sessionId) ?? 0) + 1);
    return { sessionId, released: false };
  }

  releaseRequest(slot: RequestSlot): void {
    if (slot.released) return;
    slot.released = true;
    if (slot.sessionId === null) return;
    const n = (this.running.get(slot.sessionId) ?? 1) - 1;
    if (n <= 0) this.running.delete(slot.sessionId);
    else this.running.set(slot.sessionId, n);
  }

  /** The tokens and dollars still available under the token and cost limits (Infinity when unset). */
  remaining(q: Quota): { tokens: number; usd: number } {
    const c = this.consumption();
    const tokens = Math.min(
      q.tokensPerDay === undefined ? Infinity : q.tokensPerDay - c.tokensDay,
      q.tokensPerMonth === undefined ? Infinity : q.tokensPerMonth - c.tokensMonth,
    );
    const usd = Math.min(q.usdPerDay === undefined ? Infinity : q.usdPerDay - c.usdDay, q.usdPerMonth === undefined ? Infinity : q.usdPerMonth - c.usdMonth);
    return { tokens: Math.max(0, tokens), usd: Math.max(0, usd) };
  }

  /** Reserves the worst case of one model call under the token and cost limits. */
  reserve(q: Quota, tokens: number, usd: number): Reservation {
    const now = this.now();
    const refusal = checkAdmission(q, this.consumption(), { tokens, usd, newSession: false }, [], 0, now);
    if (refusal !== null) throw quotaError(refusal, now);
    this.reservedTokens += tokens;
    this.reservedUsd += usd;
    return { tokens, usd, done: false };
  }

  /** Replaces a reservation by what the call actually used (already written to the ledger). */
  settle(r: Reservation, tokens: number, usd: number, tsMs: number): void {
    this.release(r);
    this.refresh(this.now());
    const w = windowsAt(this.now());
    if (tsMs >= w.dayStart && tsMs < w.dayEnd) {
      this.settled.tokensDay += tokens;
      this.settled.usdDay += usd;
    }
    if (tsMs >= w.monthStart && tsMs < w.monthEnd) {
      this.settled.tokensMonth += tokens;
      this.settled.usdMonth += usd;
    }
  }

  release(r: Reservation): void {
    if (r.done) return;
    r.done = true;
    this.reservedTokens -= r.tokens;
    this.reservedUsd -= r.usd;
  }

  status(q: Quota) {
    const now = this.now();
    const c = this.consumption();
    const w = windowsAt(now);
    const recent = this.recent.filter((t) => t > now - RPM_WINDOW_MS).length;
    return {
      quota: q,
      usage: { ...c, requestsLastMinute: recent, runningSessions: this.running.size },
      remaining: this.remaining(q),
      resets: { day: new Date(w.dayEnd).toISOString(), month: new Date(w.monthEnd).toISOString() },
    };
  }
}
