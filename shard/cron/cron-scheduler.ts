// The one shard-wide cron timer: waits for the earliest fire time in the index, then starts due jobs
// within the shard's and each tenant's concurrency limits. No timer per job, no tenant opened early.
import type pino from 'pino';
import type { CronClock } from './cron-clock.ts';
import type { CronIndex } from './cron-index.ts';

export interface SchedulerDeps {
  readonly clock: CronClock;
  readonly index: CronIndex;
  /** Handles one due (tenant, job); the job's index entry is marked running meanwhile. */
  readonly fire: (tenant: string, job: string) => Promise<void>;
  readonly maxConcurrentRuns: number;
  readonly maxConcurrentRunsPerTenant: number;
  readonly log: pino.Logger;
}

/** Due entries read per look; more wait for the next look (a run finishing triggers one). */
const BATCH = 1000;

export class CronScheduler {
  readonly #d: SchedulerDeps;
  #timer: unknown = null;
  #timerAt: number | null = null;
  #running = false;
  #lookQueued = false;
  readonly #inflight = new Map<string, Promise<void>>();
  readonly #perTenant = new Map<string, number>();

  constructor(deps: SchedulerDeps) {
    this.#d = deps;
  }

  /** Starts the timer; jobs that were being worked on when the process stopped are due at once. */
  start(): void {
    this.#running = true;
    this.#d.index.recoverRunning(this.#d.clock.now());
    this.#look();
  }

  /** Stops the timer and waits for runs in progress. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#clearTimer();
    await Promise.allSettled([...this.#inflight.values()]);
  }

  /** The index changed (a job added, updated, enabled): re-arm if something is now earlier. */
  poke(): void {
    if (!this.#running) return;
    const now = this.#d.clock.now();
    if (this.#d.index.due(now, 1).length > 0) return this.#queueLook();
    this.#arm(now);
  }

  /** Tenant runs in progress (scheduled and manual). */
  tenantRuns(tenant: string): number {
    return this.#perTenant.get(tenant) ?? 0;
  }

  get inflight(): number {
    return this.#inflight.size;
  }

  /** True when the shard or the tenant has no free run slot. */
  full(tenant: string): boolean {
    return this.#inflight.size >= this.#d.maxConcurrentRuns || this.tenantRuns(tenant) >= this.#d.maxConcurrentRunsPerTenant;
  }

  /** Starts work on (tenant, job) in a run slot; `work` is a scheduled fire or a manual run. */
  launch(tenant: string, job: string, work: () => Promise<void>): Promise<void> {
    const key = `${tenant}/${job}`;
    this.#d.index.setRunning(tenant, job);
    this.#perTenant.set(tenant, this.tenantRuns(tenant) + 1);
    const p = work()
      .catch((err: unknown) => this.#d.log.error({ err, tenantId: tenant, jobId: job }, 'cron: unexpected failure'))
      .finally(() => {
        this.#inflight.delete(key);
        const n = this.tenantRuns(tenant) - 1;
        if (n <= 0) this.#perTenant.delete(tenant);
        else this.#perTenant.set(tenant, n);
        const left = this.#d.index.get(tenant, job);
        // The work re-indexes the job when it ends; if it could not, look again later.
        if (left?.running === true) this.#d.index.put(tenant, job, this.#d.clock.now() + 60_000);
        this.#queueLook();
      });
    this.#inflight.set(key, p);
    return p;
  }

  isBusy(tenant: string, job: string): boolean {
    return this.#inflight.has(`${tenant}/${job}`);
  }

  /** Resolves once nothing runs and nothing is due (tests and load tests await this; no sleeps). */
  async idle(): Promise<void> {
    for (;;) {
      if (this.#inflight.size > 0) {
        await Promise.allSettled([...this.#inflight.values()]);
        continue;
      }
      if (this.#lookQueued) {
        await Promise.resolve();
        continue;
      }
      if (this.#running && this.#d.index.due(this.#d.clock.now(), 1).length > 0) {
        this.#look();
        if (this.#inflight.size === 0) return; // due but blocked (should not happen with nothing in flight)
        continue;
      }
      return;
    }
  }

  #queueLook(): void {
    if (this.#lookQueued || !this.#running) return;
    this.#lookQueued = true;
    queueMicrotask(() => {
      this.#lookQueued = false;
      this.#look();
    });
  }

  #look(): void {
    if (!this.#running) return;
    this.#clearTimer();
    const { index, clock } = this.#d;
    const now = clock.now();
    for (const e of index.due(now, BATCH)) {
      if (this.#inflight.has(`${e.tenant}/${e.job}`)) continue;
      if (this.#inflight.size >= this.#d.maxConcurrentRuns) break;
      if (this.tenantRuns(e.tenant) >= this.#d.maxConcurrentRunsPerTenant) continue;
      void this.launch(e.tenant, e.job, () => this.#d.fire(e.tenant, e.job));
    }
    // Entries still due wait for a run to finish (it queues a look): no busy timer.
    this.#arm(now);
  }

  #arm(now: number): void {
    const next = this.#d.index.nextAfter(now);
    if (next === null) return this.#clearTimer();
    if (this.#timer !== null && this.#timerAt !== null && this.#timerAt <= next) return;
    this.#clearTimer();
    this.#timerAt = next;
    this.#timer = this.#d.clock.setTimer(() => {
      this.#timer = null;
      this.#timerAt = null;
      this.#look();
    }, next - now);
  }

  #clearTimer(): void {
    if (this.#timer !== null) this.#d.clock.clearTimer(this.#timer);
    this.#timer = null;
    this.#timerAt = null;
  }
}
