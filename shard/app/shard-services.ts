// The shard's long-lived services, wired from a validated config (composition root; no business rules).
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type pino from 'pino';
import { AuditLog } from '../audit/audit-log.ts';
import type { ShardConfig } from '../config/shard-config.ts';
import { createShardMetrics, type ShardMetrics } from '../observability/metrics.ts';
import { Ownership } from '../ownership/ownership.ts';
import type { RpcMethod } from '../rpc/rpc-method.ts';
import { defaultRpcMethods } from '../rpc/methods/index.ts';
import { openMemoryDb } from '../memory/memory-db.ts';
import { TenantDatabases, type DatabaseEvent, type MemoryDbOpener } from '../tenants/tenant-databases.ts';
import { TenantLifecycle, type TenantLifecycleHook } from '../tenants/tenant-lifecycle.ts';
import { TenantStore } from '../tenants/tenant-store.ts';
import { TenantSockets } from '../http/tenant-sockets.ts';
import { createTenantContext, type TenantContext } from '../tenants/tenant-context.ts';

export interface ShardServices {
  readonly config: ShardConfig;
  readonly dataDir: string;
  readonly log: pino.Logger;
  readonly audit: AuditLog;
  readonly ownership: Ownership;
  readonly databases: TenantDatabases;
  /** Which tenants are resident (databases open, features active); activate/deactivate (DESIGN §11). */
  readonly lifecycle: TenantLifecycle;
  readonly store: TenantStore;
  readonly metrics: ShardMetrics;
  readonly rpcMethods: ReadonlyMap<string, RpcMethod>;
  /** Open WebSockets per tenant (closed when the tenant is frozen, moved or deleted). */
  readonly sockets: TenantSockets;
  readonly now: () => Date;
  /** Deactivates every resident tenant (hooks, then databases) and closes the audit log (after the HTTP server has drained). */
  close(): Promise<void>;
}

export interface ServiceOptions {
  log: pino.Logger;
  now?: () => Date;
  openMemoryDb?: MemoryDbOpener;
  rpcMethods?: readonly RpcMethod[];
  /** Tenant lifecycle hooks of features (in order); more can be added with lifecycle.addHook. */
  lifecycleHooks?: readonly TenantLifecycleHook[];
  /** Observes database open/checkpoint/close (tests check the order of a freeze with it). */
  onDatabaseEvent?: (e: DatabaseEvent) => void;
}

export function createShardServices(config: ShardConfig, opts: ServiceOptions): ShardServices {
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
    ...(opts.onDatabaseEvent === undefined ? {} : { onEvent: opts.onDatabaseEvent }),
  });
  const sockets = new TenantSockets();
  // The store and the lifecycle refer to each other (dirOf, deactivate), hence the explicit types.
  const lifecycle: TenantLifecycle = new TenantLifecycle({
    databases,
    dirOf: (id: string): string => store.dirOf(id),
    contextOf: (id: string): TenantContext =>
      createTenantContext({ shardId: config.id, tenantDefaults: config.tenantDefaults as Record<string, unknown>, store, lifecycle, audit }, id, { type: 'system' }, 'lifecycle'),
    limits: config.limits,
    nowMs: () => now().getTime(),
    hooks: opts.lifecycleHooks ?? [],
    onHookError: (err, info) => opts.log.error({ err, ...info }, 'tenant lifecycle hook failed'),
    onActivated: () => metrics.activations.inc(),
    onDeactivated: (_id, reason) => metrics.deactivations.inc({ reason }),
  });
  const store: TenantStore = new TenantStore({
    dataDir,
    shardId: config.id,
    audit,
    ownership,
    residency: lifecycle,
    now,
    onWarning: (msg, extra) => opts.log.warn(extra, msg),
    onTenantGone: (id, reason) => sockets.close(id, reason),
    onTenantOwned: (id, cause) => opts.log.debug({ tenantId: id, cause }, 'tenant owned'),
  });
  store.load();
  const metrics = createShardMetrics({
    tenantsOwned: () => store.count(),
    inflight: () => ownership.totalInflight(),
    tenantsResident: () => lifecycle.residentCount(),
    databasesOpen: () => databases.openCount(),
  });
  const methods = new Map<string, RpcMethod>();
  for (const m of opts.rpcMethods ?? defaultRpcMethods(() => store)) methods.set(m.name, m);
  return {
    config,
    dataDir,
    log: opts.log,
    audit,
    ownership,
    databases,
    lifecycle,
    store,
    metrics,
    rpcMethods: methods,
    sockets,
    now,
    async close() {
      await lifecycle.deactivateAll('shutdown');
      await audit.close();
    },
  };
}
