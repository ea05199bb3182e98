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
import { TenantDatabases, type MemoryDbOpener } from '../tenants/tenant-databases.ts';
import { TenantStore } from '../tenants/tenant-store.ts';
import { TenantSockets } from '../http/tenant-sockets.ts';

export interface ShardServices {
  readonly config: ShardConfig;
  readonly dataDir: string;
  readonly log: pino.Logger;
  readonly audit: AuditLog;
  readonly ownership: Ownership;
  readonly databases: TenantDatabases;
  readonly store: TenantStore;
  readonly metrics: ShardMetrics;
  readonly rpcMethods: ReadonlyMap<string, RpcMethod>;
  /** Open WebSockets per tenant (closed when the tenant is frozen, moved or deleted). */
  readonly sockets: TenantSockets;
  readonly now: () => Date;
  /** Closes databases and the audit log (after the HTTP server has drained). */
  close(): Promise<void>;
}

export interface ServiceOptions {
  log: pino.Logger;
  now?: () => Date;
  openMemoryDb?: MemoryDbOpener;
  rpcMethods?: readonly RpcMethod[];
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
  });
  const sockets = new TenantSockets();
  const store = new TenantStore({
    dataDir,
    shardId: config.id,
    audit,
    ownership,
    databases,
    now,
    onWarning: (msg, extra) => opts.log.warn(extra, msg),
    onTenantGone: (id, reason) => sockets.close(id, reason),
  });
  store.load();
  const metrics = createShardMetrics({ tenantsOwned: () => store.count(), inflight: () => ownership.totalInflight() });
  const methods = new Map<string, RpcMethod>();
  for (const m of opts.rpcMethods ?? defaultRpcMethods(() => store)) methods.set(m.name, m);
  return {
    config,
    dataDir,
    log: opts.log,
    audit,
    ownership,
    databases,
    store,
    metrics,
    rpcMethods: methods,
    sockets,
    now,
    async close() {
      databases.closeAll();
      await audit.close();
    },
  };
}
