// A shard's core services on a temp data directory with cron wired to a manual clock (tests and load tests).
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setImmediate as yieldOnce } from 'node:timers/promises';
import { createShardServices, type ShardServices } from '../../app/shard-services.ts';
import { parseShardConfig } from '../../config/shard-config.ts';
import { createLogger } from '../../observability/logger.ts';
import { createGuardedAgent } from '../../ai/providers/ssrf-agent.ts';
import { BackupHost } from '../../snapshot/backup-host.ts';
import { openBlobStore } from '../../../router/index.ts';
import { createBackupAction } from '../actions/backup-action.ts';
import { createWebhookAction } from '../actions/webhook-action.ts';
import { unavailableAction, type ActionHandler, type CronActionHandlers } from '../cron-actions.ts';
import { CronConfigSchema } from '../cron-config.ts';
import { CronIndex } from '../cron-index.ts';
import { createCronMetrics } from '../cron-metrics.ts';
import { CronService, type CronCaller } from '../cron-service.ts';
import { cronShardOf } from '../cron-shard.ts';
import type { ManualClock } from './manual-clock.ts';
import type { CronAction } from '../cron-job.ts';

export interface CronHarness {
  readonly svc: ShardServices;
  readonly cron: CronService;
  readonly index: CronIndex;
  readonly backups: BackupHost | null;
  caller(tenantId: string): CronCaller;
  /** Creates a tenant (owned) and returns its id. */
  tenant(id: string): Promise<string>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  readonly shardId?: string;
  readonly blob?: string;
  readonly cron?: Record<string, unknown>;
  /** Stands in for the run service (agent turns), which is outside cron. */
  readonly agent?: ActionHandler<Extract<CronAction, { type: 'agent' }>>;
  readonly start?: boolean;
}

export function cronHarness(dataDir: string, clock: ManualClock, opts: HarnessOptions = {}): CronHarness {
  const config = parseShardConfig({ id: opts.shardId ?? 's1', port: 0, dataDir: join(dataDir), logLevel: 'warn', ...(opts.blob === undefined ? {} : { blob: opts.blob }) });
  const log = createLogger({ level: 'warn', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
  const svc = createShardServices(config, { log, now: () => new Date(clock.now()) });
  const cronConfig = CronConfigSchema.parse({ webhook: { allowPrivateNetwork: true, backoffMs: 0 }, ...opts.cron });
  const backups = opts.blob === undefined ? null : new BackupHost(svc, openBlobStore(opts.blob));
  const dispatcher = createGuardedAgent({ allowPrivateNetwork: cronConfig.webhook.allowPrivateNetwork, connectTimeoutMs: 5000 });
  const actions: CronActionHandlers = {
    agent: opts.agent ?? unavailableAction('no run service in this harness'),
    webhook: createWebhookAction({
      dispatcher,
      attempts: cronConfig.webhook.attempts,
      backoffMs: cronConfig.webhook.backoffMs,
      timeoutMs: cronConfig.webhook.timeoutMs,
      now: () => clock.now(),
      delay: () => yieldOnce(),
    }),
    backup: createBackupAction(() => {
      if (backups === null) throw new Error('no blob store');
      return backups;
    }),
  };
  const index = CronIndex.open(join(svc.dataDir, 'cron-index.db'));
  const cron = new CronService({
    shardId: config.id,
    clock,
    index,
    shard: cronShardOf(svc),
    actions,
    capabilities: { agent: opts.agent !== undefined, channels: false, backup: backups !== null },
    config: cronConfig,
    metrics: createCronMetrics(svc.metrics.registry, () => index.count()),
    log,
  });
  if (opts.start !== false) cron.start();
  return {
    svc,
    cron,
    index,
    backups,
    caller(tenantId) {
      return {
        id: tenantId,
        stateDb: () => svc.databases.state(tenantId, svc.store.dirOf(tenantId)),
        audit: (input) => svc.audit.append({ ...input, tenant: tenantId, actor: { type: 'tenant' } }),
      };
    },
    async tenant(id) {
      await svc.store.create({ id }, { type: 'admin' });
      return id;
    },
    async close() {
      await cron.stop();
      index.close();
      await backups?.close();
      await dispatcher.close();
      await svc.close();
    },
  };
}
