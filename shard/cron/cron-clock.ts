// The clock and the one timer the cron scheduler uses, injected so tests and load tests control time.
export interface CronClock {
  now(): number;
  /** Calls `fn` after `ms` (one pending timer at a time is all the scheduler ever keeps). */
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

/** Node's timers cap a delay at 2^31-1 ms; the scheduler re-arms after waking early. */
const MAX_DELAY_MS = 2 ** 31 - 1;

export const systemClock: CronClock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const t = setTimeout(fn, Math.min(Math.max(ms, 0), MAX_DELAY_MS));
    t.unref();
    return t;
  },
  clearTimer(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};
