// A clock that moves only when a test says so; `timers` tells how many timers are pending (the scheduler keeps one).
import type { CronClock } from '../cron-clock.ts';

interface Pending {
  readonly at: number;
  readonly fn: () => void;
  readonly id: number;
}

export class ManualClock implements CronClock {
  #now: number;
  #seq = 0;
  readonly #pending = new Map<number, Pending>();

  constructor(startIso: string) {
    this.#now = Date.parse(startIso);
  }

  now(): number {
    return this.#now;
  }

  setTimer(fn: () => void, ms: number): unknown {
    const id = ++this.#seq;
    this.#pending.set(id, { at: this.#now + Math.max(0, ms), fn, id });
    return id;
  }

  clearTimer(handle: unknown): void {
    this.#pending.delete(handle as number);
  }

  get timers(): number {
    return this.#pending.size;
  }

  /** Sets the time (never backwards) and fires every timer now due, in order. */
  set(iso: string): void {
    this.advance(Date.parse(iso) - this.#now);
  }

  advance(ms: number): void {
    if (ms < 0) throw new Error('a ManualClock never goes backwards');
    this.#now += ms;
    for (;;) {
      const due = [...this.#pending.values()].filter((p) => p.at <= this.#now).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (due === undefined) return;
      this.#pending.delete(due.id);
      due.fn();
    }
  }
}
