// Runs one due job of one tenant: gate, mark stale claims interrupted, re-runs, claim, action, finish, re-index.
import type Database from 'better-sqlite3';
import type pino from 'pino';
import { AppError, toAppError } from '../../router/errors/app-error.ts';
import { runAction, type CronActionHandlers } from './cron-actions.ts';
import type { CronClock } from './cron-clock.ts';
import type { CronConfig } from './cron-config.ts';
import type { CronIndex } from './cron-index.ts';
import type { CronJob, RunTrigger } from './cron-job.ts';
import type { CronMetrics } from './cron-metrics.ts';
import { nextFireAt, planScheduled, retryAt } from './cron-plan.ts';
import { compileSchedule, jitterMs } from './cron-schedule.ts';
import { CronStore } from './cron-store.ts';

/** What cron needs from the shard about tenants (owned, frozen or gone; its state.db; the gate). */
export interface CronTenants {
  state(tenantId: string): 'owned' | 'frozen' | 'gone';
  /** Counts a run in flight like a request, so a freeze drains it; null when not owned. */
  enter(tenantId: string): (() => void) | null;
  /** Keeps the tenant resident (its databases open) until released: an eviction waits for it. */
  lease(tenantId: string): Promise<{ release(): void }>;
  stateDb(tenantId: string): Database.Database;
}

export interface RunnerDeps {
  readonly shardId: string;
  /** This process; a `running` claim not in flight here was interrupted. */
  readonly boot: string;
  readonly clock: CronClock;
  readonly index: CronIndex;
  readonly tenants: CronTenants;
  readonly actions: CronActionHandlers;
  readonly config: CronConfig;
  readonly metrics: CronMetrics;
  readonly log: pino.Logger;
}

const INTERRUPTED = { code: 'CRON_RUN_INTERRUPTED', message: new AppError('CRON_RUN_INTERRUPTED').message };
/** A job whose tenant failed to open is looked at again after this. */
const ERROR_BACKOFF_MS = 60_000;

export class CronRunner {
  readonly #d: RunnerDeps;
  /** Claims being run by this process: `tenant/job/scheduledAt`. */
  readonly #inflight = new Set<string>();

  constructor(deps: RunnerDeps) {
    this.#d = deps;
  }

  storeOf(tenantId: string): CronStore {
    return new CronStore(this.#d.tenants.stateDb(tenantId));
  }

  /** The timer found (tenant, job) due. Only the owner fires; a frozen tenant's jobs wait. */
  async fire(tenantId: string, jobId: string): Promise<void> {
    const { index, tenants, clock, config } = this.#d;
    const state = tenants.state(tenantId);
    if (state === 'gone') return index.dropTenant(tenantId);
    if (state === 'frozen') return index.put(tenantId, jobId, clock.now() + config.frozenRecheckSeconds * 1000);
    let release: (() => void) | null;
    try {
      release = tenants.enter(tenantId);
    } catch {
      // Frozen between the check and the gate.
      return index.put(tenantId, jobId, clock.now() + config.frozenRecheckSeconds * 1000);
    }
    if (release === null) return index.dropTenant(tenantId);
    let lease: { release(): void } | null = null;
    try {
      lease = await tenants.lease(tenantId);
      const store = this.storeOf(tenantId);
      this.recoverInterrupted(tenantId, store);
      await this.#work(tenantId, store, jobId);
      this.reschedule(tenantId, store, jobId);
    } catch (err) {
      this.#d.log.error({ err, tenantId, jobId }, 'cron: a due job could not be handled; trying again later');
      index.put(tenantId, jobId, clock.now() + ERROR_BACKOFF_MS);
    } finally {
      lease?.release();
      release();
    }
  }

  /** Marks `running` claims that no run of this process holds as interrupted, with a re-run per `retry`. */
  recoverInterrupted(tenantId: string, store: CronStore): void {
    const stale = store.runningClaims().filter((r) => !this.#inflight.has(`${tenantId}/${r.jobId}/${r.scheduledAt}`));
    if (stale.length === 0) return;
    const now = this.#d.clock.now();
    store.tx(() => {
      for (const r of stale) {
        const job = store.getJob(r.jobId);
        const again = job === undefined ? null : retryAt('interrupted', r.attempts, job.retry, now);
        store.finishRun(r.jobId, r.scheduledAt, { status: 'interrupted', now, error: INTERRUPTED, retryAt: again, result: null });
      }
    });
    for (const r of stale) {
      this.#d.metrics.runs.inc({ outcome: 'interrupted' });
      this.#d.log.warn({ tenantId, jobId: r.jobId, scheduledAt: new Date(r.scheduledAt).toISOString(), shardId: r.shardId }, 'cron: a run was interrupted (the shard stopped during it)');
      this.reschedule(tenantId, store, r.jobId);
    }
  }

  async #work(tenantId: string, store: CronStore, jobId: string): Promise<void> {
    const { clock, config, metrics, boot, shardId } = this.#d;
    // Bounded: a catch-up backlog is at most `cap` runs, plus the re-runs due.
    for (let step = 0; step < 64; step++) {
      const job = store.getJob(jobId);
      if (job === undefined || !job.enabled) return;
      const now = clock.now();
      const retry = store.pendingRetries(jobId).find((r) => (r.retryAt as number) <= now);
      if (retry !== undefined) {
        const key = `${tenantId}/${jobId}/${retry.scheduledAt}`;
        this.#inflight.add(key);
        if (store.tx(() => store.claimRetry(retry, boot, shardId, now))) {
          await this.#execute(tenantId, store, job, retry.scheduledAt, retry.attempts + 1, now - (retry.retryAt as number));
        } else this.#inflight.delete(key);
        continue;
      }
      const schedule = compileSchedule(job.schedule, job.tz ?? undefined, job.createdAt);
      const jitter = jitterMs(schedule, `${tenantId}/${jobId}`, config.jitterSeconds * 1000);
      const plan = planScheduled({ schedule, missed: job.missed, cursorAt: job.cursorAt, now, jitterMs: jitter, graceMs: config.graceSeconds * 1000 });
      if (plan.missed > 0) metrics.missed.inc(plan.missed);
      // While a claim runs, state.db says "look at me now": an index rebuilt after a crash finds it.
      const advance = { cursorAt: plan.cursorAt, nextRunAt: plan.nextRunAt, nextFireAt: now, enabled: true };
      if (plan.claim === null) {
        store.tx(() => store.advance(jobId, advance));
        return;
      }
      const scheduledAt = plan.claim;
      const key = `${tenantId}/${jobId}/${scheduledAt}`;
      this.#inflight.add(key);
      const claimed = store.tx(() => {
        const ok = store.insertClaim({ jobId, scheduledAt, trigger: 'schedule', boot, shardId, now });
        store.advance(jobId, advance);
        return ok;
      });
      if (claimed) await this.#execute(tenantId, store, job, scheduledAt, 1, now - (scheduledAt + jitter));
      else this.#inflight.delete(key);
    }
  }

  /** A run the tenant asked for (`cron.run`): claims it now (committed before this returns); returns its time. */
  claimManual(tenantId: string, store: CronStore, job: CronJob): number {
    const { clock, boot, shardId } = this.#d;
    const now = clock.now();
    for (let scheduledAt = now; scheduledAt < now + 1000; scheduledAt++) {
      const key = `${tenantId}/${job.id}/${scheduledAt}`;
      this.#inflight.add(key);
      if (store.tx(() => store.insertClaim({ jobId: job.id, scheduledAt, trigger: 'manual', boot, shardId, now }))) return scheduledAt;
      this.#inflight.delete(key);
    }
    throw new AppError('CRON_JOB_RUNNING');
  }

  /** Runs a claimed manual run; the caller holds the tenant's gate and a residency lease. */
  async runManual(tenantId: string, jobId: string, scheduledAt: number): Promise<void> {
    const store = this.storeOf(tenantId);
    const job = store.getJob(jobId);
    if (job === undefined) {
      this.#inflight.delete(`${tenantId}/${jobId}/${scheduledAt}`);
      return;
    }
    await this.#execute(tenantId, store, job, scheduledAt, 1, 0, 'manual');
    this.reschedule(tenantId, store, jobId);
  }

  async #execute(tenantId: string, store: CronStore, job: CronJob, scheduledAt: number, attempt: number, lagMs: number, trigger: RunTrigger = 'schedule'): Promise<void> {
    const { clock, config, metrics, actions } = this.#d;
    const key = `${tenantId}/${job.id}/${scheduledAt}`;
    if (trigger === 'schedule') metrics.lag.observe(Math.max(0, lagMs) / 1000);
    const ac = new AbortController();
    const timeout = clock.setTimer(() => ac.abort(new AppError('CRON_RUN_TIMEOUT')), config.runTimeoutSeconds * 1000);
    let status: 'ok' | 'error' = 'ok';
    let error: { code: string; message: string } | null = null;
    let result: Record<string, unknown> | null = null;
    try {
      const out = await Promise.race([
        runAction(actions, { tenantId, job, scheduledAt, attempt, signal: ac.signal, history: () => store.listRuns(job.id, config.historyPerJob) }),
        new Promise<never>((_, reject) => ac.signal.addEventListener('abort', () => reject(ac.signal.reason as Error), { once: true })),
      ]);
      result = out.result;
    } catch (err) {
      const e = toAppError(err);
      status = 'error';
      error = { code: e.code, message: e.message.slice(0, 500) };
    } finally {
      clock.clearTimer(timeout);
    }
    const now = clock.now();
    try {
      store.tx(() => {
        store.finishRun(job.id, scheduledAt, { status, now, error, retryAt: retryAt(status, attempt, job.retry, now), result });
        store.pruneRuns(job.id, config.historyPerJob);
      });
    } finally {
      this.#inflight.delete(key);
    }
    metrics.runs.inc({ outcome: status });
    this.#d.log.info({ tenantId, jobId: job.id, scheduledAt: new Date(scheduledAt).toISOString(), outcome: status, attempt, ...(error === null ? {} : { code: error.code }) }, 'cron run finished');
  }

  /** Writes the job's next look to state.db and the shard index (a finished one-shot is disabled). */
  reschedule(tenantId: string, store: CronStore, jobId: string): void {
    const job = store.getJob(jobId);
    if (job === undefined) return this.#d.index.put(tenantId, jobId, null);
    const schedule = compileSchedule(job.schedule, job.tz ?? undefined, job.createdAt);
    const pending = store.pendingRetries(jobId)[0]?.retryAt ?? null;
    let enabled = job.enabled;
    if (schedule.kind === 'at' && job.nextRunAt === null && pending === null && job.cursorAt >= schedule.atMs) enabled = false;
    const jitter = jitterMs(schedule, `${tenantId}/${jobId}`, this.#d.config.jitterSeconds * 1000);
    const fireAt = nextFireAt(enabled, job.nextRunAt, jitter, pending);
    store.tx(() => store.advance(jobId, { cursorAt: job.cursorAt, nextRunAt: job.nextRunAt, nextFireAt: fireAt, enabled }));
    this.#d.index.put(tenantId, jobId, fireAt);
  }

  isRunning(tenantId: string, jobId: string): boolean {
    const prefix = `${tenantId}/${jobId}/`;
    for (const k of this.#inflight) if (k.startsWith(prefix)) return true;
    return false;
  }
}
