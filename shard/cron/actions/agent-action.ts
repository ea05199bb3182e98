// The agent action: one turn through RunService.startTurn, in the job's isolated session `cron:<jobId>` or a named one.
import { AppError } from '../../../router/errors/app-error.ts';
import type { CoreServices } from '../../app/shard-feature.ts';
import type { RunService } from '../../ai/run-service.ts';
import { agentFor } from '../../ai/sessions/chat-methods.ts';
import { tenantContext } from '../../http/tenant-request.ts';
import type { ActionHandler } from '../cron-actions.ts';
import type { CronAction } from '../cron-job.ts';

export function createAgentAction(runs: RunService, core: CoreServices): ActionHandler<Extract<CronAction, { type: 'agent' }>> {
  return async (ctx, action) => {
    if (action.deliver !== undefined) throw new AppError('CRON_CHANNELS_UNAVAILABLE', { message: 'Delivery to a channel needs the channels feature, which this shard does not have yet.' });
    const tenant = tenantContext(core, ctx.tenantId, { type: 'system' }, `cron-${ctx.job.id}-${ctx.scheduledAt}`);
    const session = action.session ?? `cron:${ctx.job.id}`;
    const r = await runs.startTurn({
      tenant,
      session,
      input: {
        kind: 'agent',
        agent: () => agentFor(tenant, { agent: action.agent }),
        messages: [{ role: 'user', content: action.prompt }],
        fingerprint: ['cron', ctx.job.id, ctx.scheduledAt, ctx.attempt],
      },
      // One recorded run per attempt of a scheduled time: a re-run is a new turn, never a replay.
      idempotencyKey: `cron:${ctx.job.id}:${ctx.scheduledAt}:${ctx.attempt}`,
      signal: ctx.signal,
    });
    if (r.status === 'aborted') throw new AppError('CRON_RUN_TIMEOUT', { message: 'The agent turn was aborted.' });
    return { result: { runId: r.runId, sessionId: r.sessionId } };
  };
}
