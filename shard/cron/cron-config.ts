// The cron feature's part of the shard config: per-tenant limits and the scheduler's knobs (operator-only).
import { z } from 'zod';

export const CronConfigSchema = z
  .object({
    /** Jobs one tenant may have. */
    maxJobsPerTenant: z.number().int().min(1).max(10_000).default(50),
    /** The shortest gap between two fire times of a job. */
    minIntervalSeconds: z.number().int().min(1).default(60),
    /** Runs of one tenant in progress at once (scheduled and manual). */
    maxConcurrentRunsPerTenant: z.number().int().min(1).max(100).default(2),
    /** Runs in progress on the whole shard at once. */
    maxConcurrentRuns: z.number().int().min(1).max(10_000).default(64),
    /** Window of the stable start delay given to jobs that fire on the hour (0 turns it off). */
    jitterSeconds: z.number().int().min(0).max(3600).default(300),
    /** A run that starts this late (after its time plus jitter) counts as missed, not on time. */
    graceSeconds: z.number().int().min(1).default(60),
    /** A run still going after this is aborted and recorded as an error (CRON_RUN_TIMEOUT). */
    runTimeoutSeconds: z.number().int().min(1).default(900),
    /** Finished runs kept per job (cron.runs). */
    historyPerJob: z.number().int().min(100).max(10_000).default(200),
    /** How often the jobs of a frozen tenant are looked at again. */
    frozenRecheckSeconds: z.number().int().min(1).default(5),
    webhook: z
      .object({
        /** Calls per run (the first plus retries on network errors, 429 and 5xx). */
        attempts: z.number().int().min(1).max(10).default(3),
        /** Delay before the second call, doubled for each further one. */
        backoffMs: z.number().int().min(0).default(1000),
        timeoutMs: z.number().int().min(100).default(10_000),
        /** Private, loopback and link-local addresses are refused unless this is set (tests, closed networks). */
        allowPrivateNetwork: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type CronConfig = Readonly<z.infer<typeof CronConfigSchema>>;
