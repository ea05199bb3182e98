// What a cron run does, by action type: the handlers the runner calls (agent turn, webhook, backup).
import { AppError } from '../../router/errors/app-error.ts';
import type { CronAction, CronJob, CronRun } from './cron-job.ts';

export interface ActionContext {
  readonly tenantId: string;
  readonly job: CronJob;
  readonly scheduledAt: number;
  readonly attempt: number;
  /** Aborted at the run's time limit and when the shard stops. */
  readonly signal: AbortSignal;
  /** The job's earlier runs, newest first (a backup prunes the snapshots they made). */
  readonly history: () => readonly CronRun[];
}

export interface ActionOutcome {
  /** Kept with the run (e.g. the snapshot key), for later runs to read. */
  readonly result: Record<string, unknown> | null;
}

export type ActionHandler<A extends CronAction> = (ctx: ActionContext, action: A) => Promise<ActionOutcome>;

export interface CronActionHandlers {
  readonly agent: ActionHandler<Extract<CronAction, { type: 'agent' }>>;
  readonly webhook: ActionHandler<Extract<CronAction, { type: 'webhook' }>>;
  readonly backup: ActionHandler<Extract<CronAction, { type: 'backup' }>>;
}

export function runAction(handlers: CronActionHandlers, ctx: ActionContext): Promise<ActionOutcome> {
  const a = ctx.job.action;
  switch (a.type) {
    case 'agent':
      return handlers.agent(ctx, a);
    case 'webhook':
      return handlers.webhook(ctx, a);
    case 'backup':
      return handlers.backup(ctx, a);
  }
}

/** A handler for an action this shard cannot run yet: every run fails with a clear code. */
export function unavailableAction<A extends CronAction>(message: string): ActionHandler<A> {
  return () => Promise.reject(new AppError('CRON_ACTION_UNAVAILABLE', { message }));
}
