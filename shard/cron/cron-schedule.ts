// Cron schedules: parse a job's schedule (cron string, `every`, `at`) and compute its fire times exactly (croner).
import { createHash } from 'node:crypto';
import { Cron } from 'croner';
import { z } from 'zod';
import { AppError } from '../../router/errors/app-error.ts';

const EVERY = /^([1-9][0-9]{0,6})(s|m|h|d)$/;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
/** Longest `every` accepted: a year. */
const EVERY_MAX_MS = 366 * 86_400_000;

export const ScheduleSpecSchema = z.union([
  z.string().trim().min(9).max(200).describe('a cron expression with 5 fields, or 6 with seconds first'),
  z.object({ every: z.string().regex(EVERY, 'a whole number and one of s, m, h, d, e.g. "90s", "15m", "2h"') }).strict(),
  z.object({ at: z.iso.datetime({ offset: true }) }).strict(),
]);
export type ScheduleSpec = z.infer<typeof ScheduleSpecSchema>;

export const TimeZoneSchema = z.string().min(1).max(64).describe('an IANA time zone, e.g. Europe/Berlin (default UTC)');

/** A schedule ready to compute with. Times are epoch milliseconds. */
export type Schedule =
  | { readonly kind: 'cron'; readonly pattern: string; readonly tz: string; readonly cron: Cron }
  | { readonly kind: 'every'; readonly everyMs: number; readonly anchorMs: number }
  | { readonly kind: 'at'; readonly atMs: number };

function invalid(message: string, details: Record<string, unknown> = {}): AppError {
  return new AppError('CRON_SCHEDULE_INVALID', { message, details });
}

export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export function parseEvery(text: string): number {
  const m = EVERY.exec(text);
  if (m === null) throw invalid('`every` is a whole number and one of s, m, h, d, e.g. "90s", "15m", "2h".', { every: text.slice(0, 40) });
  const ms = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  if (ms > EVERY_MAX_MS) throw invalid('`every` is at most 366 days.', { every: text });
  return ms;
}

/**
 * Compiles a job's schedule. `anchorMs` is the job's creation time: an `every` schedule fires at
 * anchor + k·every (k ≥ 1), which spreads many tenants' "every hour" jobs over the hour.
 */
export function compileSchedule(spec: ScheduleSpec, tz: string | undefined, anchorMs: number): Schedule {
  if (typeof spec === 'string') {
    const zone = tz ?? 'UTC';
    if (!isTimeZone(zone)) throw invalid('Unknown time zone; use an IANA name such as Europe/Berlin.', { tz: zone.slice(0, 64) });
    const fields = spec.trim().split(/\s+/);
    if (fields.length !== 5 && fields.length !== 6) throw invalid('A cron expression has 5 fields, or 6 with seconds first.', { fields: fields.length });
    let cron: Cron;
    try {
      cron = new Cron(fields.join(' '), { timezone: zone, paused: true, mode: '5-or-6-parts' });
    } catch (err) {
      throw new AppError('CRON_SCHEDULE_INVALID', { message: `Invalid cron expression: ${(err as Error).message}`.slice(0, 300), cause: err });
    }
    if (cron.nextRun(new Date(anchorMs)) === null) throw invalid('The cron expression never fires.');
    return { kind: 'cron', pattern: fields.join(' '), tz: zone, cron };
  }
  if ('every' in spec) {
    if (tz !== undefined && !isTimeZone(tz)) throw invalid('Unknown time zone.', { tz: tz.slice(0, 64) });
    return { kind: 'every', everyMs: parseEvery(spec.every), anchorMs: Math.floor(anchorMs / 1000) * 1000 };
  }
  if (tz !== undefined && !isTimeZone(tz)) throw invalid('Unknown time zone.', { tz: tz.slice(0, 64) });
  return { kind: 'at', atMs: Date.parse(spec.at) };
}

/** The first scheduled time strictly after `afterMs`, or null when there is none. */
export function nextAfter(s: Schedule, afterMs: number): number | null {
  switch (s.kind) {
    case 'cron': {
      const d = s.cron.nextRun(new Date(afterMs));
      return d === null ? null : d.getTime();
    }
    case 'every': {
      if (afterMs < s.anchorMs) return s.anchorMs + s.everyMs;
      const k = Math.floor((afterMs - s.anchorMs) / s.everyMs) + 1;
      return s.anchorMs + k * s.everyMs;
    }
    case 'at':
      return s.atMs > afterMs ? s.atMs : null;
  }
}

/**
 * The newest scheduled times in (fromMs, toMs], at most `max`, oldest first. Bounded work: croner
 * walks back from `toMs`, never forward from a cursor that may be months old.
 */
export function latestBetween(s: Schedule, fromMs: number, toMs: number, max: number): number[] {
  if (max <= 0 || toMs <= fromMs) return [];
  let times: number[];
  switch (s.kind) {
    case 'cron':
      // previousRuns is strict; +1 ms makes `toMs` itself count.
      times = s.cron.previousRuns(max, new Date(toMs + 1)).map((d) => d.getTime());
      break;
    case 'every': {
      times = [];
      if (toMs < s.anchorMs + s.everyMs) break;
      let t = s.anchorMs + Math.floor((toMs - s.anchorMs) / s.everyMs) * s.everyMs;
      while (times.length < max && t > s.anchorMs) {
        times.push(t);
        t -= s.everyMs;
      }
      break;
    }
    case 'at':
      times = [s.atMs];
      break;
  }
  return times.filter((t) => t > fromMs && t <= toMs).sort((a, b) => a - b);
}

/**
 * The shortest gap between fire times, estimated over the next `sample` fires (for the minimum
 * interval limit); null for a one-shot.
 */
export function shortestGapMs(s: Schedule, fromMs: number, sample = 24): number | null {
  if (s.kind === 'at') return null;
  if (s.kind === 'every') return s.everyMs;
  const times = s.cron.nextRuns(sample, new Date(fromMs)).map((d) => d.getTime());
  let gap = Number.POSITIVE_INFINITY;
  for (let i = 1; i < times.length; i++) gap = Math.min(gap, (times[i] as number) - (times[i - 1] as number));
  return Number.isFinite(gap) ? gap : null;
}

/** True for a cron job that fires on the hour (seconds and minutes both 0): those get a jitter. */
export function firesOnTheHour(s: Schedule): boolean {
  if (s.kind !== 'cron') return false;
  const f = s.pattern.split(' ');
  const [sec, min] = f.length === 6 ? [f[0], f[1]] : ['0', f[0]];
  return sec === '0' && min === '0';
}

/**
 * A stable per-job delay in [0, windowMs), whole seconds, for jobs that fire on the hour, so that
 * thousands of "0 * * * *" jobs on a shard do not all start in the same second. The run keeps its
 * nominal scheduled time (the claim); only the moment it starts moves.
 */
export function jitterMs(s: Schedule, jobKey: string, windowMs: number): number {
  if (windowMs < 1000 || !firesOnTheHour(s)) return 0;
  const h = createHash('sha256').update(jobKey).digest().readUInt32BE(0);
  return (h % Math.floor(windowMs / 1000)) * 1000;
}
