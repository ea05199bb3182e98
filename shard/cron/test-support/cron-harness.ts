// A shard's services (every default feature, cron on a manual clock) on a temp data directory: tests and load tests.
import { Writable } from 'node:stream';
import { setImmediate as yieldOnce } from 'node:timers/promises';
import { defaultFeatures } from '../../app/features.ts';
import { createShardServices, type ShardServices } from '../../app/shard-services.ts';
import { parseShardConfig } from '../../config/shard-config.ts';
import { createLogger } from '../../observability/logger.ts';
import { tenantContext } from '../../http/tenant-request.ts';
import type { BackupHost } from '../../snapshot/backup-host.ts';
import { backupsFeature } from '../../snapshot/backups-feature.ts';
import type { ActionHandler } from '../cron-actions.ts';
import { cronFeature, type CronServices } from '../cron-feature.ts';
import type { CronIndex } from '../cron-index.ts';
import type { CronAction } from '../cron-job.ts';
import type { CronCaller, CronService } from '../cron-service.ts';
import type { ManualClock } from './manual-clock.ts';

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
  /** `features.cron` of the shard config (jitter, limits, webhook...). */
  readonly cron?: Record<string, unknown>;
  /** Stands in for the run service (agent turns), which is outside cron. */
  readonly agent?: ActionHandler<Extract<CronAction, { type: 'agent' }>>;
  readonly log?: boolean;
}

export function cronHarness(dataDir: string, clock: ManualClock, opts: HarnessOptions = {}): CronHarness {
  const { webhook, ...rest } = (opts.cron ?? {}) as { webhook?: Record<string, unknown> };
  const config = parseShardConfig({
    id: opts.shardId ?? 's1',
    port: 0,
    dataDir,
    logLevel: 'warn',
    ...(opts.blob === undefined ? {} : { blob: opts.blob }),
    features: { cron: { webhook: { allowPrivateNetwork: true, backoffMs: 0, ...webhook }, ...rest } },
  });
  const log = createLogger({ level: opts.log === true ? 'info' : 'warn', ...(opts.log === true ? {} : { destination: new Writable({ write: (_c, _e, cb) => cb() }) }) });
  const cron = cronFeature({ clock, ...(opts.agent === undefined ? {} : { agent: opts.agent }), webhookDelay: () => yieldOnce() });
  const features = [...defaultFeatures.filter((f) => f.name !== 'cron'), cron];
  const svc = createShardServices(config, { log, now: () => new Date(clock.now()), features });
  const services = svc.features.find((b) => b.feature === cron)?.services as CronServices;
  const backups = svc.features.find((b) => b.feature === backupsFeature)?.services as BackupHost | undefined;
  return {
    svc,
    cron: services.cron,
    index: services.cron.index,
    backups: opts.blob === undefined || backups === undefined ? null : backups,
    caller: (tenantId) => tenantContext(svc, tenantId, { type: 'tenant' }, 'test'),
    async tenant(id) {
      await svc.store.create({ id }, { type: 'admin' });
      return id;
    },
    close: () => svc.close(),
  };
}
