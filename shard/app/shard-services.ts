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
import { TenantDatabases, type MemoryDbOpener } from '../tenants/tenant-databases.ts';
import { TenantStore } from '../tenants/tenant-store.ts';
import { TenantSockets } from '../http/tenant-sockets.ts';
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
  /** Closes the features' services (last first), then databases and the audit log (after the HTTP server has drained). */
  close(): Promise<void>;
}

export interface ServiceOptions {
  log: pino.Logger;
  now?: () => Date;
  openMemoryDb?: MemoryDbOpener;
  /** The features this shard runs (default: shard/app/features.ts). */
  features?: readonly ShardFeature[];
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
  });
  const sockets = new TenantSockets();
  // Set once the features exist; the store calls it when a tenant stops being served here.
  let hooks: readonly LifecycleHooks[] = [];
  const store = new TenantStore({
    dataDir,
    shardId: config.id,
    audit,
    ownership,
    databases,
    now,
    onWarning: (msg, extra) => opts.log.warn(extra, msg),
    onTenantGone: async (id, reason) => {
      sockets.close(id, reason.message);
      // Stand-in for the tenant lifecycle (DESIGN §11): every feature stops before databases close.
      const tenant = { id, dir: store.dirOf(id) };
      for (const h of hooks) {
        try {
          await h.onInactive?.(tenant, reason.kind);
        } catch (err) {
          opts.log.error({ err, tenantId: id, feature: h.name }, 'a feature failed to stop for a tenant');
        }
      }
    },
  });
  store.load();
  const metrics = createShardMetrics({ tenantsOwned: () => store.count(), inflight: () => ownership.totalInflight() });
  const core: CoreServices = { config, dataDir, log: opts.log, audit, ownership, databases, store, metrics, sockets, now };
  let built: BuiltFeature[];
  try {
    built = buildFeatures(features, core, configs);
  } catch (err) {
    databases.closeAll();
    void audit.close();
    throw err;
  }
  hooks = lifecycleHooksOf(built);
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
