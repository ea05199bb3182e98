// A cron job as clients send it (the cron.add contract) and as it is kept: zod schemas and plain types.
import { z } from 'zod';
import { parseEvery, ScheduleSpecSchema, TimeZoneSchema, type ScheduleSpec } from './cron-schedule.ts';

const Duration = z.string().regex(/^[1-9][0-9]{0,6}(s|m|h|d)$/, 'a duration such as "90s", "15m", "6h", "1d"');

export const AgentActionSchema = z
  .object({
    type: z.literal('agent'),
    prompt: z.string().min(1).max(20_000),
    /** An agent of the tenant (`agents.*`); absent: the tenant's default model. */
    agent: z.string().min(1).max(64).optional(),
    /** A named session to continue; absent: the job's own isolated session `cron:<jobId>`. */
    session: z.string().min(1).max(128).optional(),
    deliver: z.object({ channel: z.string().min(1).max(64), to: z.string().min(1).max(256) }).strict().optional(),
  })
  .strict();

export const WebhookActionSchema = z
  .object({
    type: z.literal('webhook'),
    url: z.url({ protocol: /^https?$/ }).max(2048),
    /** Signs each call: x-openclawmu-signature: sha256=HMAC(secret, `${timestamp}.${body}`). */
    secret: z.string().min(16).max(256).optional(),
  })
  .strict();

export const BackupActionSchema = z.object({ type: z.literal('backup'), keep: z.number().int().min(1).max(100) }).strict();

export const ActionSchema = z.discriminatedUnion('type', [AgentActionSchema, WebhookActionSchema, BackupActionSchema]);
export type CronAction = z.infer<typeof ActionSchema>;

export const MissedInputSchema = z.union([
  z.enum(['skip', 'once', 'catchup']),
  z
    .object({
      policy: z.enum(['skip', 'once', 'catchup']),
      /** catchup: only missed times this recent are run (default 24h, at most 7d). */
      window: Duration.optional(),
      /** catchup: at most this many missed runs (the newest), default 3. */
      cap: z.number().int().min(1).max(24).optional(),
    })
    .strict(),
]);

export interface MissedPolicy {
  readonly policy: 'skip' | 'once' | 'catchup';
  readonly windowMs: number;
  readonly cap: number;
}

export const RetryInputSchema = z
  .object({
    /** How many times a failed or interrupted run is run again (default 0: never). */
    attempts: z.number().int().min(0).max(5),
    /** Delay before the first re-run, doubled for each further one (default 30s). */
    backoff: Duration.optional(),
  })
  .strict();

export interface RetryPolicy {
  readonly attempts: number;
  readonly backoffMs: number;
}

export const JobInputSchema = z
  .object({
    name: z.string().trim().min(1).max(100),
    schedule: ScheduleSpecSchema,
    tz: TimeZoneSchema.optional(),
    action: ActionSchema,
    missed: MissedInputSchema.optional(),
    retry: RetryInputSchema.optional(),
    enabled: z.boolean().optional(),
  })
  .strict();
export type JobInput = z.infer<typeof JobInputSchema>;

export const JobPatchSchema = JobInputSchema.partial();
export type JobPatch = z.infer<typeof JobPatchSchema>;

const WINDOW_MAX_MS = 7 * 86_400_000;

export function normaliseMissed(input: JobInput['missed']): MissedPolicy {
  const m = input === undefined ? { policy: 'once' as const } : typeof input === 'string' ? { policy: input } : input;
  const windowMs = Math.min(m.policy === 'catchup' && 'window' in m && m.window !== undefined ? parseEvery(m.window) : 86_400_000, WINDOW_MAX_MS);
  const cap = 'cap' in m && m.cap !== undefined ? m.cap : 3;
  return { policy: m.policy, windowMs, cap };
}

export function normaliseRetry(input: JobInput['retry']): RetryPolicy {
  return { attempts: input?.attempts ?? 0, backoffMs: input?.backoff === undefined ? 30_000 : parseEvery(input.backoff) };
}

/** A job as stored in the tenant's state.db (times in epoch ms). */
export interface CronJob {
  readonly id: string;
  readonly name: string;
  readonly schedule: ScheduleSpec;
  readonly tz: string | null;
  readonly action: CronAction;
  readonly missed: MissedPolicy;
  readonly retry: RetryPolicy;
  readonly enabled: boolean;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** Every scheduled time up to this one has been claimed or let go (the missed policy decided). */
  readonly cursorAt: number;
  /** The next scheduled time (nominal), null when the job will not fire again. */
  readonly nextRunAt: number | null;
  /** When the shard should next look at this job: next run plus jitter, or a pending re-run. */
  readonly nextFireAt: number | null;
}

export type RunStatus = 'running' | 'ok' | 'error' | 'interrupted';
export type RunTrigger = 'schedule' | 'manual';

/** A run claim: unique per (job, scheduled time), written before the run starts. */
export interface CronRun {
  readonly jobId: string;
  readonly scheduledAt: number;
  readonly trigger: RunTrigger;
  readonly status: RunStatus;
  /** 1 for the first start, +1 for each re-run under the job's retry setting. */
  readonly attempts: number;
  readonly startedAt: number;
  readonly finishedAt: number | null;
  readonly error: { code: string; message: string } | null;
  /** The process that runs it; a `running` claim from another boot was interrupted. */
  readonly boot: string;
  readonly shardId: string;
  /** When a re-run is due (error or interrupted, attempts left), else null. */
  readonly retryAt: number | null;
  /** What the action produced that later runs need (a backup's snapshot key). */
  readonly result: Record<string, unknown> | null;
}

/** What `cron.get` / `cron.list` answer: the job with ISO times. */
export function publicJob(j: CronJob): Record<string, unknown> {
  return {
    id: j.id,
    name: j.name,
    schedule: j.schedule,
    ...(j.tz === null ? {} : { tz: j.tz }),
    action: redactAction(j.action),
    missed: { policy: j.missed.policy, ...(j.missed.policy === 'catchup' ? { windowSeconds: j.missed.windowMs / 1000, cap: j.missed.cap } : {}) },
    retry: { attempts: j.retry.attempts, backoffSeconds: j.retry.backoffMs / 1000 },
    enabled: j.enabled,
    createdAt: new Date(j.createdAt).toISOString(),
    updatedAt: new Date(j.updatedAt).toISOString(),
    nextRunAt: j.nextRunAt === null ? null : new Date(j.nextRunAt).toISOString(),
  };
}

/** A webhook secret is never read back. */
export function redactAction(a: CronAction): Record<string, unknown> {
  if (a.type === 'webhook' && a.secret !== undefined) return { type: a.type, url: a.url, secret: '(set)' };
  return { ...a };
}

export function publicRun(r: CronRun): Record<string, unknown> {
  return {
    scheduledAt: new Date(r.scheduledAt).toISOString(),
    startedAt: new Date(r.startedAt).toISOString(),
    finishedAt: r.finishedAt === null ? null : new Date(r.finishedAt).toISOString(),
    outcome: r.status,
    trigger: r.trigger,
    attempts: r.attempts,
    ...(r.error === null ? {} : { error: r.error }),
    ...(r.retryAt === null ? {} : { retryAt: new Date(r.retryAt).toISOString() }),
  };
}
