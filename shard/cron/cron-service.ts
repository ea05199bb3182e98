// The cron feature's service: the tenant-facing operations (cron.*), the shard index and its one timer.
import type Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import type pino from 'pino';
import { AppError } from '../../router/errors/app-error.ts';
import type { AuditInput } from '../audit/audit-record.ts';
import type { CronActionHandlers } from './cron-actions.ts';
import type { CronClock } from './cron-clock.ts';
import type { CronConfig } from './cron-config.ts';
import type { CronIndex } from './cron-index.ts';
import { normaliseMissed, normaliseRetry, publicJob, publicRun, type CronJob, type JobInput, type JobPatch } from './cron-job.ts';
import type { CronMetrics } from './cron-metrics.ts';
import { nextFireAt } from './cron-plan.ts';
import { CronRunner, type CronTenants } from './cron-runner.ts';
import { compileSchedule, jitterMs, nextAfter, shortestGapMs } from './cron-schedule.ts';
import { CronScheduler } from './cron-scheduler.ts';
import { CronStore } from './cron-store.ts';

/** What the shard offers cron beyond tenants: listing owned tenants and reading jobs without residency. */
export interface CronShard extends CronTenants {
  owned(): Array<{ id: string; epoch: number }>;
  epochOf(tenantId: string): number | undefined;
  /** Reads a tenant's job fire times from its state.db without making it resident (index rebuild). */
  readFireTimes(tenantId: string): Array<{ id: string; nextFireAt: number }>;
}

/** The tenant a cron.* call is for (a TenantContext fits). */
export interface CronCaller {
  readonly id: string;
  stateDb(): Database.Database;
  audit(input: Omit<AuditInput, 'tenant' | 'actor' | 'requestId'>): void;
}

export interface CronCapabilities {
  /** Agent turns can run (RunService present). */
  readonly agent: boolean;
  /** Answers can be delivered to channels. */
  readonly channels: boolean;
  /** The shard has a blob store for backups. */
  readonly backup: boolean;
}

export interface CronServiceDeps {
  readonly shardId: string;
  readonly clock: CronClock;
  readonly index: CronIndex;
  readonly shard: CronShard;
  readonly actions: CronActionHandlers;
  readonly capabilities: CronCapabilities;
  readonly config: CronConfig;
  readonly metrics: CronMetrics;
  readonly log: pino.Logger;
}

export class CronService {
  readonly #d: CronServiceDeps;
  readonly runner: CronRunner;
  readonly scheduler: CronScheduler;
  readonly index: CronIndex;

  constructor(deps: CronServiceDeps) {
    this.#d = deps;
    this.index = deps.index;
    this.runner = new CronRunner({ ...deps, boot: randomBytes(6).toString('hex'), tenants: deps.shard });
    this.scheduler = new CronScheduler({
      clock: deps.clock,
      index: deps.index,
      fire: (t, j) => this.runner.fire(t, j),
      maxConcurrentRuns: deps.config.maxConcurrentRuns,
      maxConcurrentRunsPerTenant: deps.config.maxConcurrentRunsPerTenant,
      log: deps.log,
    });
  }

  /** Rebuilds the index if it is missing or stale, then starts the one timer. Opens no tenant otherwise. */
  start(): void {
    const { index, shard, log } = this.#d;
    if (index.needsRebuild) {
      index.markComplete(false);
      let jobs = 0;
      for (const t of shard.owned()) jobs += this.#indexTenant(t.id, t.epoch);
      index.markComplete(true);
      log.info({ jobs }, 'cron: rebuilt the shard index of next fire times from the tenants');
    } else {
      // Tenants adopted, restored or moved away while this shard was down (an epoch moved on).
      const owned = new Map(shard.owned().map((t) => [t.id, t.epoch]));
      for (const [id, epoch] of index.indexedTenants()) {
        const now = owned.get(id);
        if (now === undefined) index.dropTenant(id);
        else if (now !== epoch) this.#indexTenant(id, now);
      }
    }
    this.scheduler.start();
  }

  async stop(): Promise<void> {
    await this.scheduler.stop();
  }

  /** A tenant arrived (restore, move import, adopt): its jobs replace whatever the index had. */
  reindexTenant(tenantId: string): void {
    const epoch = this.#d.shard.epochOf(tenantId);
    if (epoch === undefined) return this.dropTenant(tenantId);
    this.#indexTenant(tenantId, epoch);
    this.scheduler.poke();
  }

  /** A tenant left (moved away, deleted): its jobs leave the index. */
  dropTenant(tenantId: string): void {
    this.#d.index.dropTenant(tenantId);
  }

  #indexTenant(id: string, epoch: number): number {
    const entries = this.#d.shard.readFireTimes(id);
    this.#d.index.replaceTenant(id, epoch, entries);
    return entries.length;
  }

  #store(caller: CronCaller): CronStore {
    return new CronStore(caller.stateDb());
  }

  #require(store: CronStore, id: string): CronJob {
    const job = store.getJob(id);
    if (job === undefined) throw new AppError('CRON_JOB_NOT_FOUND', { details: { id: id.slice(0, 64) } });
    return job;
  }

  /** Validates a job against the shard's capabilities and the tenant's limits; computes its next run. */
  #schedule(tenantId: string, job: Omit<CronJob, 'cursorAt' | 'nextRunAt' | 'nextFireAt'>, now: number): CronJob {
    const { config, capabilities } = this.#d;
    const a = job.action;
    if (a.type === 'agent' && a.deliver !== undefined && !capabilities.channels) {
      throw new AppError('CRON_CHANNELS_UNAVAILABLE', { message: 'Delivery to a channel needs the channels feature, which this shard does not have yet; drop `deliver`.' });
    }
    if (a.type === 'agent' && !capabilities.agent) throw new AppError('CRON_ACTION_UNAVAILABLE', { message: 'Agent turns from cron need the run service, which this shard does not have yet.' });
    if (a.type === 'backup' && !capabilities.backup) throw new AppError('BLOB_NOT_CONFIGURED');
    const schedule = compileSchedule(job.schedule, job.tz ?? undefined, job.createdAt);
    if (schedule.kind === 'at' && schedule.atMs <= now) throw new AppError('CRON_SCHEDULE_INVALID', { message: '`at` is in the past.' });
    const gap = shortestGapMs(schedule, now);
    if (gap !== null && gap < config.minIntervalSeconds * 1000) {
      throw new AppError('CRON_LIMIT_INTERVAL', { details: { minIntervalSeconds: config.minIntervalSeconds, scheduleSeconds: gap / 1000 } });
    }
    const nextRunAt = nextAfter(schedule, now);
    const jitter = jitterMs(schedule, `${tenantId}/${job.id}`, config.jitterSeconds * 1000);
    return { ...job, cursorAt: now, nextRunAt, nextFireAt: nextFireAt(job.enabled, nextRunAt, jitter, null) };
  }

  #index(tenantId: string, job: CronJob): void {
    const epoch = this.#d.shard.epochOf(tenantId);
    if (epoch !== undefined && !this.#d.index.isIndexed(tenantId)) this.#d.index.replaceTenant(tenantId, epoch, []);
    if (!this.runner.isRunning(tenantId, job.id)) this.#d.index.put(tenantId, job.id, job.nextFireAt);
    this.scheduler.poke();
  }

  add(caller: CronCaller, input: JobInput): { id: string; nextRunAt: string | null } {
    const store = this.#store(caller);
    const now = this.#d.clock.now();
    const job = this.#schedule(
      caller.id,
      {
        id: `cj_${randomBytes(8).toString('hex')}`,
        name: input.name,
        schedule: input.schedule,
        tz: input.tz ?? null,
        action: input.action,
        missed: normaliseMissed(input.missed),
        retry: normaliseRetry(input.retry),
        enabled: input.enabled ?? true,
        createdAt: now,
        updatedAt: now,
      },
      now,
    );
    store.tx(() => {
      if (store.countJobs() >= this.#d.config.maxJobsPerTenant) throw new AppError('CRON_LIMIT_JOBS', { details: { maxJobsPerTenant: this.#d.config.maxJobsPerTenant } });
      store.insertJob(job);
    });
    caller.audit({ action: 'cron.add', target: job.id, outcome: 'ok', details: { name: job.name, schedule: job.schedule, action: job.action.type } });
    this.#index(caller.id, job);
    return { id: job.id, nextRunAt: job.nextRunAt === null ? null : new Date(job.nextRunAt).toISOString() };
  }

  update(caller: CronCaller, id: string, patch: JobPatch): Record<string, unknown> {
    const store = this.#store(caller);
    const cur = this.#require(store, id);
    const now = this.#d.clock.now();
    const timing = patch.schedule !== undefined || patch.tz !== undefined || (patch.enabled === true && !cur.enabled);
    const merged = {
      ...cur,
      ...(patch.name === undefined ? {} : { name: patch.name }),
      ...(patch.schedule === undefined ? {} : { schedule: patch.schedule }),
      ...(patch.tz === undefined ? {} : { tz: patch.tz }),
      ...(patch.action === undefined ? {} : { action: patch.action }),
      ...(patch.missed === undefined ? {} : { missed: normaliseMissed(patch.missed) }),
      ...(patch.retry === undefined ? {} : { retry: normaliseRetry(patch.retry) }),
      ...(patch.enabled === undefined ? {} : { enabled: patch.enabled }),
      updatedAt: now,
    };
    // A new schedule, or a job enabled again, starts from now: no catch-up for the time before.
    const scheduled = this.#schedule(caller.id, merged, now);
    const job = timing ? scheduled : { ...scheduled, cursorAt: cur.cursorAt, nextRunAt: cur.nextRunAt, nextFireAt: merged.enabled ? cur.nextFireAt : null };
    store.tx(() => {
      store.replaceJob(job);
      if (!job.enabled) store.cancelRetries(id);
    });
    const changed = Object.keys(patch);
    caller.audit({ action: 'cron.update', target: id, outcome: 'ok', details: { changed } });
    this.#index(caller.id, job);
    return publicJob(job);
  }

  setEnabled(caller: CronCaller, id: string, enabled: boolean): Record<string, unknown> {
    return this.update(caller, id, { enabled });
  }

  remove(caller: CronCaller, id: string): { id: string; removed: true } {
    const store = this.#store(caller);
    this.#require(store, id);
    if (this.runner.isRunning(caller.id, id)) throw new AppError('CRON_JOB_RUNNING', { message: 'The job has a run in progress; remove it when the run ends.' });
    store.tx(() => store.deleteJob(id));
    caller.audit({ action: 'cron.remove', target: id, outcome: 'ok' });
    this.#d.index.put(caller.id, id, null);
    this.scheduler.poke();
    return { id, removed: true };
  }

  get(caller: CronCaller, id: string): Record<string, unknown> {
    const store = this.#store(caller);
    const job = this.#require(store, id);
    return { ...publicJob(job), running: this.runner.isRunning(caller.id, id) };
  }

  list(caller: CronCaller): { jobs: Array<Record<string, unknown>> } {
    return { jobs: this.#store(caller).listJobs().map((j) => publicJob(j)) };
  }

  runs(caller: CronCaller, id: string, limit: number): { runs: Array<Record<string, unknown>> } {
    const store = this.#store(caller);
    this.#require(store, id);
    return { runs: store.listRuns(id, Math.min(limit, this.#d.config.historyPerJob)).map(publicRun) };
  }

  status(caller: CronCaller): Record<string, unknown> {
    const store = this.#store(caller);
    const jobs = store.listJobs();
    const next = jobs.map((j) => (j.enabled ? j.nextRunAt : null)).filter((t): t is number => t !== null);
    const { config } = this.#d;
    return {
      jobs: jobs.length,
      enabled: jobs.filter((j) => j.enabled).length,
      running: this.scheduler.tenantRuns(caller.id),
      nextRunAt: next.length === 0 ? null : new Date(Math.min(...next)).toISOString(),
      limits: { maxJobs: config.maxJobsPerTenant, minIntervalSeconds: config.minIntervalSeconds, maxConcurrentRuns: config.maxConcurrentRunsPerTenant },
      capabilities: this.#d.capabilities,
    };
  }

  /** Runs a job now, outside its schedule: the claim is committed before this answers. */
  runNow(caller: CronCaller, id: string): { id: string; scheduledAt: string } {
    const store = this.#store(caller);
    const job = this.#require(store, id);
    if (this.scheduler.isBusy(caller.id, id) || this.runner.isRunning(caller.id, id)) throw new AppError('CRON_JOB_RUNNING');
    if (this.scheduler.full(caller.id)) throw new AppError('CRON_LIMIT_CONCURRENT', { details: { maxConcurrentRuns: this.#d.config.maxConcurrentRunsPerTenant } });
    const release = this.#d.shard.enter(caller.id);
    if (release === null) throw new AppError('SHARD_TENANT_NOT_FOUND');
    let scheduledAt: number;
    try {
      scheduledAt = this.runner.claimManual(caller.id, store, job);
    } catch (err) {
      release();
      throw err;
    }
    void this.scheduler.launch(caller.id, id, async () => {
      let lease: { release(): void } | null = null;
      try {
        lease = await this.#d.shard.lease(caller.id);
        await this.runner.runManual(caller.id, id, scheduledAt);
      } finally {
        lease?.release();
        release();
      }
    });
    return { id, scheduledAt: new Date(scheduledAt).toISOString() };
  }
}
