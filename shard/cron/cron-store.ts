// The cron tables of one tenant's state.db: jobs, and run claims unique per (job, scheduled time).
import type Database from 'better-sqlite3';
import type { CronAction, CronJob, CronRun, MissedPolicy, RetryPolicy, RunStatus, RunTrigger } from './cron-job.ts';
import type { ScheduleSpec } from './cron-schedule.ts';

interface JobRow {
  id: string;
  name: string;
  schedule: string;
  tz: string | null;
  action: string;
  missed: string;
  retry: string;
  enabled: number;
  created_at: number;
  updated_at: number;
  cursor_at: number;
  next_run_at: number | null;
  next_fire_at: number | null;
}

interface RunRow {
  job_id: string;
  scheduled_at: number;
  trigger: string;
  status: string;
  attempts: number;
  started_at: number;
  finished_at: number | null;
  error: string | null;
  boot: string;
  shard_id: string;
  retry_at: number | null;
  result: string | null;
}

function toJob(r: JobRow): CronJob {
  return {
    id: r.id,
    name: r.name,
    schedule: JSON.parse(r.schedule) as ScheduleSpec,
    tz: r.tz,
    action: JSON.parse(r.action) as CronAction,
    missed: JSON.parse(r.missed) as MissedPolicy,
    retry: JSON.parse(r.retry) as RetryPolicy,
    enabled: r.enabled === 1,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    cursorAt: r.cursor_at,
    nextRunAt: r.next_run_at,
    nextFireAt: r.next_fire_at,
  };
}

function toRun(r: RunRow): CronRun {
  return {
    jobId: r.job_id,
    scheduledAt: r.scheduled_at,
    trigger: r.trigger as RunTrigger,
    status: r.status as RunStatus,
    attempts: r.attempts,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    error: r.error === null ? null : (JSON.parse(r.error) as { code: string; message: string }),
    boot: r.boot,
    shardId: r.shard_id,
    retryAt: r.retry_at,
    result: r.result === null ? null : (JSON.parse(r.result) as Record<string, unknown>),
  };
}

export interface ClaimInput {
  readonly jobId: string;
  readonly scheduledAt: number;
  readonly trigger: RunTrigger;
  readonly boot: string;
  readonly shardId: string;
  readonly now: number;
}

/** The job's schedule state written with a claim, in the same transaction. */
export interface JobAdvance {
  readonly cursorAt: number;
  readonly nextRunAt: number | null;
  readonly nextFireAt: number | null;
  /** A one-shot (`at`) that has run is disabled. */
  readonly enabled: boolean;
}

export class CronStore {
  readonly #db: Database.Database;

  constructor(db: Database.Database) {
    this.#db = db;
  }

  /** Runs `fn` in one IMMEDIATE transaction (a claim and its job update commit together). */
  tx<T>(fn: () => T): T {
    return this.#db.transaction(fn).immediate();
  }

  // --- jobs ---------------------------------------------------------------------------------

  insertJob(j: CronJob): void {
    this.#db
      .prepare(
        `INSERT INTO cron_jobs (id, name, schedule, tz, action, missed, retry, enabled, created_at, updated_at, cursor_at, next_run_at, next_fire_at)
         VALUES (@id, @name, @schedule, @tz, @action, @missed, @retry, @enabled, @created_at, @updated_at, @cursor_at, @next_run_at, @next_fire_at)`,
      )
      .run(this.#row(j));
  }

  replaceJob(j: CronJob): void {
    this.#db
      .prepare(
        `UPDATE cron_jobs SET name = @name, schedule = @schedule, tz = @tz, action = @action, missed = @missed, retry = @retry,
           enabled = @enabled, updated_at = @updated_at, cursor_at = @cursor_at, next_run_at = @next_run_at, next_fire_at = @next_fire_at
         WHERE id = @id`,
      )
      .run(this.#row(j));
  }

  deleteJob(id: string): boolean {
    return this.#db.prepare(`DELETE FROM cron_jobs WHERE id = ?`).run(id).changes === 1;
  }

  getJob(id: string): CronJob | undefined {
    const r = this.#db.prepare(`SELECT * FROM cron_jobs WHERE id = ?`).get(id) as JobRow | undefined;
    return r === undefined ? undefined : toJob(r);
  }

  listJobs(): CronJob[] {
    return (this.#db.prepare(`SELECT * FROM cron_jobs ORDER BY created_at, id`).all() as JobRow[]).map(toJob);
  }

  countJobs(): number {
    return (this.#db.prepare(`SELECT count(*) AS n FROM cron_jobs`).get() as { n: number }).n;
  }

  /** Every job's next look, for the shard index (enabled jobs with a time only). */
  fireTimes(): Array<{ id: string; nextFireAt: number }> {
    return (this.#db.prepare(`SELECT id, next_fire_at FROM cron_jobs WHERE enabled = 1 AND next_fire_at IS NOT NULL`).all() as Array<{ id: string; next_fire_at: number }>).map((r) => ({
      id: r.id,
      nextFireAt: r.next_fire_at,
    }));
  }

  advance(jobId: string, a: JobAdvance): void {
    this.#db
      .prepare(`UPDATE cron_jobs SET cursor_at = ?, next_run_at = ?, next_fire_at = ?, enabled = ? WHERE id = ?`)
      .run(a.cursorAt, a.nextRunAt, a.nextFireAt, a.enabled ? 1 : 0, jobId);
  }

  setNextFire(jobId: string, nextFireAt: number | null): void {
    this.#db.prepare(`UPDATE cron_jobs SET next_fire_at = ? WHERE id = ?`).run(nextFireAt, jobId);
  }

  // --- run claims ---------------------------------------------------------------------------

  /** Inserts the claim; false when (job, scheduledAt) is already claimed (never run twice). */
  insertClaim(c: ClaimInput): boolean {
    const res = this.#db
      .prepare(
        `INSERT INTO cron_runs (job_id, scheduled_at, trigger, status, attempts, started_at, boot, shard_id)
         VALUES (?, ?, ?, 'running', 1, ?, ?, ?) ON CONFLICT (job_id, scheduled_at) DO NOTHING`,
      )
      .run(c.jobId, c.scheduledAt, c.trigger, c.now, c.boot, c.shardId);
    return res.changes === 1;
  }

  /** Claims a re-run of a failed or interrupted run: compare-and-swap on its status and attempts. */
  claimRetry(run: CronRun, boot: string, shardId: string, now: number): boolean {
    const res = this.#db
      .prepare(
        `UPDATE cron_runs SET status = 'running', attempts = attempts + 1, started_at = ?, finished_at = NULL, error = NULL,
           retry_at = NULL, boot = ?, shard_id = ?
         WHERE job_id = ? AND scheduled_at = ? AND status = ? AND attempts = ? AND retry_at IS NOT NULL`,
      )
      .run(now, boot, shardId, run.jobId, run.scheduledAt, run.status, run.attempts);
    return res.changes === 1;
  }

  finishRun(jobId: string, scheduledAt: number, f: { status: Exclude<RunStatus, 'running'>; now: number; error: { code: string; message: string } | null; retryAt: number | null; result: Record<string, unknown> | null }): void {
    this.#db
      .prepare(`UPDATE cron_runs SET status = ?, finished_at = ?, error = ?, retry_at = ?, result = ? WHERE job_id = ? AND scheduled_at = ? AND status = 'running'`)
      .run(f.status, f.now, f.error === null ? null : JSON.stringify(f.error), f.retryAt, f.result === null ? null : JSON.stringify(f.result), jobId, scheduledAt);
  }

  /** Claims marked `running` (the runner tells its own from those a dead process left behind). */
  runningClaims(): CronRun[] {
    return (this.#db.prepare(`SELECT * FROM cron_runs WHERE status = 'running'`).all() as RunRow[]).map(toRun);
  }

  runningCount(): number {
    return (this.#db.prepare(`SELECT count(*) AS n FROM cron_runs WHERE status = 'running'`).get() as { n: number }).n;
  }

  /** Failed or interrupted runs of a job waiting for a re-run, earliest first. */
  pendingRetries(jobId: string): CronRun[] {
    return (this.#db.prepare(`SELECT * FROM cron_runs WHERE job_id = ? AND retry_at IS NOT NULL ORDER BY retry_at`).all(jobId) as RunRow[]).map(toRun);
  }

  cancelRetries(jobId: string): void {
    this.#db.prepare(`UPDATE cron_runs SET retry_at = NULL WHERE job_id = ? AND retry_at IS NOT NULL`).run(jobId);
  }

  getRun(jobId: string, scheduledAt: number): CronRun | undefined {
    const r = this.#db.prepare(`SELECT * FROM cron_runs WHERE job_id = ? AND scheduled_at = ?`).get(jobId, scheduledAt) as RunRow | undefined;
    return r === undefined ? undefined : toRun(r);
  }

  /** A job's runs, newest scheduled time first. */
  listRuns(jobId: string, limit: number): CronRun[] {
    return (this.#db.prepare(`SELECT * FROM cron_runs WHERE job_id = ? ORDER BY scheduled_at DESC LIMIT ?`).all(jobId, limit) as RunRow[]).map(toRun);
  }

  /** Keeps a job's newest `keep` finished runs (history is bounded; claims in progress stay). */
  pruneRuns(jobId: string, keep: number): void {
    this.#db
      .prepare(
        `DELETE FROM cron_runs WHERE job_id = ? AND status != 'running' AND retry_at IS NULL AND scheduled_at < (
           SELECT scheduled_at FROM cron_runs WHERE job_id = ? ORDER BY scheduled_at DESC LIMIT 1 OFFSET ?)`,
      )
      .run(jobId, jobId, keep - 1);
  }

  #row(j: CronJob): Record<string, unknown> {
    return {
      id: j.id,
      name: j.name,
      schedule: JSON.stringify(j.schedule),
      tz: j.tz,
      action: JSON.stringify(j.action),
      missed: JSON.stringify(j.missed),
      retry: JSON.stringify(j.retry),
      enabled: j.enabled ? 1 : 0,
      created_at: j.createdAt,
      updated_at: j.updatedAt,
      cursor_at: j.cursorAt,
      next_run_at: j.nextRunAt,
      next_fire_at: j.nextFireAt,
    };
  }
}
