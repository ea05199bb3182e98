// What a due job does now: which scheduled time to claim, which to let go (missed policy), when to re-run.
// Pure functions over plain data; the runner applies them inside one state.db transaction.
import type { MissedPolicy, RetryPolicy, RunStatus } from './cron-job.ts';
import { latestBetween, nextAfter, type Schedule } from './cron-schedule.ts';

/** How many missed times are counted at most (for metrics; the plan itself never walks them all). */
const COUNT_LIMIT = 1000;

export interface PlanInput {
  readonly schedule: Schedule;
  readonly missed: MissedPolicy;
  /** Every scheduled time ≤ cursorAt is already claimed or let go. */
  readonly cursorAt: number;
  readonly now: number;
  /** The job's start delay (on-the-hour jitter): a run this late is still on time. */
  readonly jitterMs: number;
  /** How late a run may start and still count as on time rather than missed. */
  readonly graceMs: number;
}

export interface Plan {
  /** The scheduled time to claim and run now, or null. */
  readonly claim: number | null;
  /** The new cursor: every scheduled time up to here is decided. */
  readonly cursorAt: number;
  /** Scheduled times let go by the missed policy in this step. */
  readonly missed: number;
  /** The next scheduled time after the cursor (may already be due: a catch-up backlog). */
  readonly nextRunAt: number | null;
}

export function planScheduled(p: PlanInput): Plan {
  const due = latestBetween(p.schedule, p.cursorAt, p.now, COUNT_LIMIT);
  const newest = due[due.length - 1];
  if (newest === undefined) return { claim: null, cursorAt: p.cursorAt, missed: 0, nextRunAt: nextAfter(p.schedule, p.cursorAt) };
  const onTime = p.now - newest <= p.jitterMs + p.graceMs;
  const decide = (claim: number | null, cursorAt: number, missed: number): Plan => ({ claim, cursorAt, missed, nextRunAt: nextAfter(p.schedule, cursorAt) });
  if (due.length === 1 && onTime) return decide(newest, newest, 0);
  switch (p.missed.policy) {
    case 'skip':
      // Only a run that is still on time starts; the rest are let go.
      return decide(onTime ? newest : null, newest, onTime ? due.length - 1 : due.length);
    case 'once':
      return decide(newest, newest, due.length - 1);
    case 'catchup': {
      const inWindow = latestBetween(p.schedule, Math.max(p.cursorAt, p.now - p.missed.windowMs), p.now, p.missed.cap);
      const first = inWindow[0];
      if (first === undefined) return decide(null, newest, due.length);
      // The oldest of the newest `cap` times runs now; the others are claimed one by one after it.
      return decide(first, first, due.filter((t) => t < first).length);
    }
  }
}

/** When a finished run runs again under the job's retry setting, or null. */
export function retryAt(status: RunStatus, attempts: number, retry: RetryPolicy, finishedAt: number): number | null {
  if (status !== 'error' && status !== 'interrupted') return null;
  if (attempts > retry.attempts) return null;
  return finishedAt + retry.backoffMs * 2 ** (attempts - 1);
}

/** When the shard should next look at a job: its next run (plus jitter) or its earliest pending re-run. */
export function nextFireAt(enabled: boolean, nextRunAt: number | null, jitterMs: number, pendingRetryAt: number | null): number | null {
  if (!enabled) return null;
  const scheduled = nextRunAt === null ? null : nextRunAt + jitterMs;
  if (scheduled === null) return pendingRetryAt;
  if (pendingRetryAt === null) return scheduled;
  return Math.min(scheduled, pendingRetryAt);
}
