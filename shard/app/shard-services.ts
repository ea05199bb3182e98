// The shard's long-lived services, wired from a validated config and the feature list (composition
// root; no business rules): the core first, then each feature's services in list order.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type pino from 'pino';
import { AuditLog } from '../audit/audit-log.ts';
import type { ShardConfig } from '../config/shard-config.ts';
import { createShardMetrics } from '../observability/metrics.ts';
import { Ownership } from '../ownership/ownership.ts';
import type { RpcMethod } from '../rpc/rpc-method.ts';
import { openMemoryDb } from '../memory/memory-db.ts';
import type { MigrationSet } from '../tenants/feature-migrations.ts';
import { CORE_STATE_MIGRATIONS } from '../tenants/state-migrations.ts';
import { TenantDatabases, type DatabaseEvent, type MemoryDbOpener } from '../tenants/tenant-databases.ts';
import { TenantLifecycle } from '../tenants/tenant-lifecycle.ts';
import { TenantStore } from '../tenants/tenant-store.ts';
import { DATA_FORMAT, prepareDataDir } from '../tenants/data-format.ts';
import { TenantSockets } from '../http/tenant-sockets.ts';
import { TenantAdmission } from '../limits/tenant-admission.ts';
import { defaultFeatures } from './features.ts';
import { buildFeatures, featureConfigs } from './feature-loop.ts';
import { lifecycleHooksOf, type BuiltFeature, type CoreServices, type LifecycleHooks, type ShardFeature } from './shard-feature.ts';

export interface ShardServices extends CoreServices {
  /** Every feature with its services, in feature order (buildApp registers their routes from this). */
  readonly features: readonly BuiltFeature[];
  /** Every JSON-RPC method of every feature, by name. */
  readonly rpcMethods: ReadonlyMap<string, RpcMethod>;
  /** The features' lifecycle hooks (DESIGN §11), in feature order. */
  readonly featureHooks: readonly LifecycleHooks[];
  /**
   * Deactivates every resident tenant (features' onInactive, then its databases), closes the
   * features' services (last first), then the audit log (after the HTTP server has drained).
   */
  close(): Promise<void>;
}

export interface ServiceOptions {
  log: pino.Logger;
  now?: () => Date;
  openMemoryDb?: MemoryDbOpener;
  /** The features this shard runs (default: shard/app/features.ts). */
  features?: readonly ShardFeature[];
  /** Observes database open/checkpoint/close (tests check the order of a freeze with it). */
  onDatabaseEvent?: (e: DatabaseEvent) => void;
}

/** state.db / memory.db migrations of the core and of every feature, in feature order. */
function migrationSets(features: readonly ShardFeature[], db: 'state' | 'memory'): MigrationSet[] {
  const sets: MigrationSet[] = db === 'state' ? [{ feature: 'shard', migrations: CORE_STATE_MIGRATIONS }] : [];
  for (const f of features) {
    const m = f.migrations?.[db];
    if (m !== undefined && m.length > 0) sets.push({ feature: f.name, migrations: m });
  }
  return sets;
}

export function createShardServices(config: ShardConfig, opts: ServiceOptions): ShardServices {
  const features = opts.features ?? defaultFeatures;
  const configs = featureConfigs(features, config.features);
  const dataDir = resolve(config.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  prepareDataDir(dataDir, (r) => opts.log.info({ from: r.found, to: DATA_FORMAT, tenantsMigrated: r.tenantsMigrated.length }, 'data directory migrated to the current format'));
  const now = opts.now ?? (() => new Date());
  const audit = new AuditLog({
    path: join(dataDir, 'audit.log'),
    now,
    onTornTail: (bytes) => opts.log.warn({ bytes }, 'audit.log ended in a torn line; cut it before appending'),
  });
  const ownership = new Ownership({ frozenRetryAfterSeconds: config.limits.frozenRetryAfterSeconds });
  const databases = new TenantDatabases({
    openMemoryDb: opts.openMemoryDb ?? openMemoryDb,
    stateMigrations: migrationSets(features, 'state'),
    memoryMigrations: migrationSets(features, 'memory'),
    ...(opts.onDatabaseEvent === undefined ? {} : { onEvent: opts.onDatabaseEvent }),
  });
  const sockets = new TenantSockets();
  // The store and the lifecycle refer to each other (dirOf, deactivate), hence the explicit types.
  const lifecycle: TenantLifecycle = new TenantLifecycle({
    databases,
    dirOf: (id: string): string => store.dirOf(id),
    limits: config.limits,
    nowMs: () => now().getTime(),
    onHookError: (err, info) => opts.log.error({ err, tenantId: info.tenantId, feature: info.hook, phase: info.phase }, 'a feature lifecycle hook failed'),
    onActivated: () => metrics.activations.inc(),
    onDeactivated: (_id, reason) => metrics.deactivations.inc({ reason }),
  });
  // Set once the features exist (the store reports owned tenants from load() on, before that).
  let ownedHooks: readonly LifecycleHooks[] = [];
  const store: TenantStore = new TenantStore({
    dataDir,
    shardId: config.id,
    audit,
    ownership,
    residency: lifecycle,
    now,
    onWarning: (msg, extra) => opts.log.warn(extra, msg),
    // Live connections end at once; the features stop in the lifecycle's deactivation.
    onTenantGone: (id, reason) => sockets.close(id, reason),
    onTenantOwned: (id, cause) => {
      opts.log.debug({ tenantId: id, cause }, 'tenant owned');
      // Features with shard-level caches of tenant data (cron's index) hear of it without activating it.
      const tenant = { id, dir: store.dirOf(id) };
      for (const h of ownedHooks) {
        void h.onOwned?.(tenant, cause).catch((err: unknown) => opts.log.error({ err, tenantId: id, feature: h.name }, 'a feature failed to take in an owned tenant'));
      }
    },
  });
  store.load();
  const metrics = createShardMetrics({
    tenantsOwned: () => store.count(),
    inflight: () => ownership.totalInflight(),
    tenantsResident: () => lifecycle.residentCount(),
    databasesOpen: () => databases.openCount(),
  });
  const admission = new TenantAdmission(config.limits.tenantConcurrentRequests);
  const core: CoreServices = { config, dataDir, log: opts.log, audit, ownership, databases, lifecycle, store, metrics, sockets, admission, now };
  let built: BuiltFeature[];
  try {
    built = buildFeatures(features, core, configs);
  } catch (err) {
    databases.closeAll();
    void audit.close();
    throw err;
  }
  const hooks = lifecycleHooksOf(built);
  for (const h of hooks) lifecycle.addHook(h);
  ownedHooks = hooks;
  const methods = new Map<string, RpcMethod>();
  for (const { feature, services } of built) {
    for (const m of feature.rpcMethods?.(services) ?? []) {
      if (methods.has(m.name)) throw new Error(`RPC method ${m.name} is registered twice (feature ${feature.name})`);
      methods.set(m.name, m);
    }
  }
  return {
    ...core,
    features: built,
    rpcMethods: methods,
    featureHooks: hooks,
    async close() {
      // Features stop for each tenant while their services are still up, then the services close.
      await lifecycle.deactivateAll('shutdown');
      for (const { feature, services } of [...built].reverse()) {
        try {
          await services.close();
        } catch (err) {
          opts.log.error({ err, feature: feature.name }, 'a feature failed to close');
        }
      }
      databases.closeAll();
      await audit.close();
    },
  };
}
