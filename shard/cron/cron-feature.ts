// The cron feature (issue 14): jobs in each tenant's state.db, one shard-wide timer over the index of next
// fire times, cron.* methods, admin routes for `openclawmu cron`, and the lifecycle hooks that keep the index true.
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { defineFeature, type FeatureServices, type ShardFeature } from '../app/shard-feature.ts';
import { createGuardedAgent } from '../ai/providers/ssrf-agent.ts';
import { adminRoutes } from '../http/admin-scope.ts';
import { backupsFeature } from '../snapshot/backups-feature.ts';
import { aiFeature } from '../ai/ai-feature.ts';
import { createAgentAction } from './actions/agent-action.ts';
import { createBackupAction } from './actions/backup-action.ts';
import { createWebhookAction, type WebhookOptions } from './actions/webhook-action.ts';
import { unavailableAction, type ActionHandler } from './cron-actions.ts';
import { systemClock, type CronClock } from './cron-clock.ts';
import { CronConfigSchema, type CronConfig } from './cron-config.ts';
import { CronIndex } from './cron-index.ts';
import type { CronAction } from './cron-job.ts';
import { createCronMetrics } from './cron-metrics.ts';
import { cronRpcMethods } from './cron-methods.ts';
import { CRON_STATE_MIGRATIONS } from './cron-migrations.ts';
import { registerCronRoutes } from './cron-routes.ts';
import { CronService } from './cron-service.ts';
import { cronShardOf } from './cron-shard.ts';

export interface CronServices extends FeatureServices {
  readonly cron: CronService;
}

export interface CronFeatureDeps {
  /** Time and the one timer (tests and load tests pass a manual clock). */
  readonly clock?: CronClock;
  /**
   * Runs an agent turn for a job (tests pass a stand-in). Default: RunService.startTurn of the AI
   * feature; without that feature, agent jobs are refused with CRON_ACTION_UNAVAILABLE.
   */
  readonly agent?: ActionHandler<Extract<CronAction, { type: 'agent' }>>;
  /** Waits between webhook calls (tests pass one that does not sleep). */
  readonly webhookDelay?: WebhookOptions['delay'];
}

export function cronFeature(deps: CronFeatureDeps = {}): ShardFeature<CronServices, CronConfig> {
  return defineFeature({
    name: 'cron',
    config: CronConfigSchema,
    migrations: { state: CRON_STATE_MIGRATIONS },
    services(core, d): CronServices {
      const config = d.config;
      const clock = deps.clock ?? systemClock;
      const backups = d.optionalServicesOf(backupsFeature);
      const ai = d.optionalServicesOf(aiFeature);
      const agent = deps.agent ?? (ai === undefined ? undefined : createAgentAction(ai.runs, core));
      const dispatcher = createGuardedAgent({ allowPrivateNetwork: config.webhook.allowPrivateNetwork, connectTimeoutMs: Math.min(config.webhook.timeoutMs, 5000) });
      const index = CronIndex.open(join(core.dataDir, 'cron-index.db'));
      const cron = new CronService({
        shardId: core.config.id,
        clock,
        index,
        shard: cronShardOf(core),
        actions: {
          agent: agent ?? unavailableAction('Agent turns from cron need the AI feature (its run service), which this shard does not run.'),
          webhook: createWebhookAction({
            dispatcher,
            attempts: config.webhook.attempts,
            backoffMs: config.webhook.backoffMs,
            timeoutMs: config.webhook.timeoutMs,
            now: () => clock.now(),
            delay: deps.webhookDelay ?? ((ms, signal) => delay(ms, undefined, { signal })),
          }),
          backup: createBackupAction(() => backups ?? unavailableBackups()),
        },
        capabilities: { agent: agent !== undefined, channels: false, backup: backups !== undefined && core.config.blob !== undefined },
        config,
        metrics: createCronMetrics(core.metrics.registry, () => index.count()),
        log: core.log.child({ feature: 'cron' }),
      });
      cron.start();
      return {
        cron,
        async close() {
          await cron.stop();
          index.close();
          await dispatcher.close();
        },
      };
    },
    routes(app, s, core) {
      adminRoutes(app, core, (scope) => registerCronRoutes(scope, s.cron, core));
    },
    rpcMethods: (s) => cronRpcMethods(() => s.cron),
    async onInactive(tenant, reason, s) {
      // A frozen tenant keeps its index entries (its jobs wait); one that left this shard loses them.
      if (reason === 'moved' || reason === 'deleted') s.cron.dropTenant(tenant.id);
    },
    async onOwned(tenant, cause, s) {
      // A restore or move import brought its state.db (jobs, claims); a thaw may follow a rolled-back move.
      if (cause === 'adopt' || cause === 'thaw') s.cron.reindexTenant(tenant.id);
    },
  });
}

function unavailableBackups(): never {
  throw new Error('the backups feature is not listed before cron');
}
