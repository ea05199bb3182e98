// Fire times of cron schedules: DST in Europe/Berlin and America/New_York, every, at, jitter, validation.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError } from '../../router/errors/app-error.ts';
import { compileSchedule, jitterMs, latestBetween, nextAfter, shortestGapMs, type Schedule } from './cron-schedule.ts';

const t = (iso: string): number => Date.parse(iso);
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

function fires(s: Schedule, fromIso: string, n: number): string[] {
  const out: string[] = [];
  let at = t(fromIso);
  for (let i = 0; i < n; i++) {
    const next = nextAfter(s, at);
    if (next === null) break;
    out.push(new Date(next).toISOString());
    at = next;
  }
  return out;
}

describe('cron schedules across DST', () => {
  it('Europe/Berlin spring forward (2026-03-29, 02:00 CET → 03:00 CEST): hourly jobs fire every real hour', () => {
    const s = compileSchedule('0 0 * * * *', 'Europe/Berlin', 0);
    assert.deepEqual(fires(s, '2026-03-28T23:30:00Z', 4), ['2026-03-29T00:00:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-29T02:00:00.000Z', '2026-03-29T03:00:00.000Z']);
  });

  it('Europe/Berlin spring forward: "0 30 2 * * *" (02:30 does not exist) runs once at 03:00 CEST, then 02:30 CEST', () => {
    const s = compileSchedule('0 30 2 * * *', 'Europe/Berlin', 0);
    assert.deepEqual(fires(s, '2026-03-27T12:00:00Z', 3), [
      '2026-03-28T01:30:00.000Z', // 02:30 CET
      '2026-03-29T01:00:00.000Z', // the gap: first valid time after it, 03:00 CEST, same day
      '2026-03-30T00:30:00.000Z', // 02:30 CEST
    ]);
  });

  it('Europe/Berlin fall back (2026-10-25, 03:00 CEST → 02:00 CET): "0 30 2 * * *" runs once, at the first 02:30', () => {
    const s = compileSchedule('0 30 2 * * *', 'Europe/Berlin', 0);
    assert.deepEqual(fires(s, '2026-10-24T12:00:00Z', 2), ['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']);
  });

  it('Europe/Berlin fall back: "*/30 * * * *" keeps running through the repeated hour', () => {
    const s = compileSchedule('*/30 * * * *', 'Europe/Berlin', 0);
    assert.deepEqual(fires(s, '2026-10-24T23:50:00Z', 5), [
      '2026-10-25T00:00:00.000Z', // 02:00 CEST
      '2026-10-25T00:30:00.000Z', // 02:30 CEST
      '2026-10-25T01:00:00.000Z', // 02:00 CET
      '2026-10-25T01:30:00.000Z', // 02:30 CET
      '2026-10-25T02:00:00.000Z', // 03:00 CET
    ]);
  });

  it('America/New_York spring forward (2026-03-08, 02:00 EST → 03:00 EDT)', () => {
    const daily = compileSchedule('0 30 2 * * *', 'America/New_York', 0);
    assert.deepEqual(fires(daily, '2026-03-07T12:00:00Z', 3), ['2026-03-08T07:00:00.000Z', '2026-03-09T06:30:00.000Z', '2026-03-10T06:30:00.000Z']);
    const halfHourly = compileSchedule('*/30 * * * *', 'America/New_York', 0);
    assert.deepEqual(fires(halfHourly, '2026-03-08T06:10:00Z', 3), ['2026-03-08T06:30:00.000Z', '2026-03-08T07:00:00.000Z', '2026-03-08T07:30:00.000Z']);
  });

  it('America/New_York fall back (2026-11-01, 02:00 EDT → 01:00 EST): a fixed 01:30 job runs once, an interval job twice', () => {
    const daily = compileSchedule('30 1 * * *', 'America/New_York', 0);
    assert.deepEqual(fires(daily, '2026-10-31T12:00:00Z', 2), ['2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z']);
    const halfHourly = compileSchedule('*/30 * * * *', 'America/New_York', 0);
    assert.deepEqual(fires(halfHourly, '2026-11-01T04:50:00Z', 5), [
      '2026-11-01T05:00:00.000Z',
      '2026-11-01T05:30:00.000Z',
      '2026-11-01T06:00:00.000Z',
      '2026-11-01T06:30:00.000Z',
      '2026-11-01T07:00:00.000Z',
    ]);
  });

  it('a 5-field cron defaults to UTC', () => {
    const s = compileSchedule('15 3 * * *', undefined, 0);
    assert.deepEqual(fires(s, '2026-01-01T00:00:00Z', 2), ['2026-01-01T03:15:00.000Z', '2026-01-02T03:15:00.000Z']);
  });
});

describe('every and at', () => {
  it('every "90s" fires at anchor + k·90 s, whatever the time zone', () => {
    const anchor = t('2026-05-01T10:00:00.400Z');
    const s = compileSchedule({ every: '90s' }, 'Europe/Berlin', anchor);
    assert.deepEqual(fires(s, '2026-05-01T10:00:00Z', 3), ['2026-05-01T10:01:30.000Z', '2026-05-01T10:03:00.000Z', '2026-05-01T10:04:30.000Z']);
    assert.equal(iso(nextAfter(s, t('2026-05-01T10:03:00Z'))), '2026-05-01T10:04:30.000Z');
  });

  it('every "2h" crosses the Berlin DST change in real time (no wall-clock drift)', () => {
    const s = compileSchedule({ every: '2h' }, 'Europe/Berlin', t('2026-03-28T23:00:00Z'));
    assert.deepEqual(fires(s, '2026-03-28T23:00:00Z', 3), ['2026-03-29T01:00:00.000Z', '2026-03-29T03:00:00.000Z', '2026-03-29T05:00:00.000Z']);
  });

  it('at fires once', () => {
    const s = compileSchedule({ at: '2026-06-01T12:00:00+02:00' }, undefined, 0);
    assert.equal(iso(nextAfter(s, t('2026-06-01T00:00:00Z'))), '2026-06-01T10:00:00.000Z');
    assert.equal(nextAfter(s, t('2026-06-01T10:00:00Z')), null);
  });
});

describe('missed times', () => {
  it('latestBetween gives the newest scheduled times in (from, to], oldest first, at most max', () => {
    const hourly = compileSchedule('0 * * * *', 'UTC', 0);
    const got = latestBetween(hourly, t('2026-05-01T09:00:00Z'), t('2026-05-01T12:10:00Z'), 2).map((x) => iso(x));
    assert.deepEqual(got, ['2026-05-01T11:00:00.000Z', '2026-05-01T12:00:00.000Z']);
    const every = compileSchedule({ every: '15m' }, undefined, t('2026-05-01T09:00:00Z'));
    assert.deepEqual(latestBetween(every, t('2026-05-01T09:15:00Z'), t('2026-05-01T10:00:00Z'), 10).map((x) => iso(x)), [
      '2026-05-01T09:30:00.000Z',
      '2026-05-01T09:45:00.000Z',
      '2026-05-01T10:00:00.000Z',
    ]);
    const at = compileSchedule({ at: '2026-05-01T09:30:00Z' }, undefined, 0);
    assert.deepEqual(latestBetween(at, t('2026-05-01T09:00:00Z'), t('2026-05-01T10:00:00Z'), 1), [t('2026-05-01T09:30:00Z')]);
    assert.deepEqual(latestBetween(at, t('2026-05-01T09:30:00Z'), t('2026-05-01T10:00:00Z'), 1), []);
  });

  it('latestBetween walks back across the New York fall-back hour', () => {
    const s = compileSchedule('0 * * * *', 'America/New_York', 0);
    const got = latestBetween(s, t('2026-11-01T03:30:00Z'), t('2026-11-01T06:30:00Z'), 5).map((x) => iso(x));
    assert.deepEqual(got, ['2026-11-01T04:00:00.000Z', '2026-11-01T05:00:00.000Z', '2026-11-01T06:00:00.000Z']);
  });
});

describe('jitter, intervals and validation', () => {
  it('jitter is stable per job, under the window, and only for jobs on the hour', () => {
    const hourly = compileSchedule('0 * * * *', 'UTC', 0);
    const a = jitterMs(hourly, 'acme/j1', 300_000);
    assert.equal(jitterMs(hourly, 'acme/j1', 300_000), a);
    assert.ok(a >= 0 && a < 300_000 && a % 1000 === 0);
    const spread = new Set(Array.from({ length: 50 }, (_, i) => jitterMs(hourly, `acme/j${i}`, 300_000)));
    assert.ok(spread.size > 30, `50 jobs spread over ${spread.size} distinct seconds`);
    assert.equal(jitterMs(compileSchedule('0 30 2 * * *', 'UTC', 0), 'acme/j1', 300_000), 0);
    assert.equal(jitterMs(compileSchedule({ every: '1h' }, undefined, 0), 'acme/j1', 300_000), 0);
    assert.equal(jitterMs(hourly, 'acme/j1', 0), 0);
  });

  it('shortestGapMs measures how often a schedule fires', () => {
    assert.equal(shortestGapMs(compileSchedule('*/5 * * * *', 'UTC', 0), 0), 300_000);
    assert.equal(shortestGapMs(compileSchedule('*/10 * * * * *', 'UTC', 0), 0), 10_000);
    assert.equal(shortestGapMs(compileSchedule({ every: '90s' }, undefined, 0), 0), 90_000);
    assert.equal(shortestGapMs(compileSchedule({ at: '2030-01-01T00:00:00Z' }, undefined, 0), 0), null);
  });

  it('refuses malformed schedules with CRON_SCHEDULE_INVALID', () => {
    const bad: Array<[Parameters<typeof compileSchedule>[0], string | undefined]> = [
      ['* * * *', undefined],
      ['1 2 3 4 5 6 7', undefined],
      ['61 * * * *', undefined],
      ['0 0 31 2 *', undefined],
      ['0 * * * *', 'Mars/Olympus'],
      [{ every: '0s' }, undefined],
      [{ every: '400d' }, undefined],
    ];
    for (const [spec, tz] of bad) {
      assert.throws(
        () => compileSchedule(spec, tz, 0),
        (err: unknown) => err instanceof AppError && err.code === 'CRON_SCHEDULE_INVALID',
        JSON.stringify(spec),
      );
    }
  });
});
