// Starts a shard: services, app, listen; close() stops accepting, drains, closes every database.
import type pino from 'pino';
import type { ShardConfig } from '../config/shard-config.ts';
import { createLogger } from '../observability/logger.ts';
import { buildApp } from './build-app.ts';
import { createShardServices, type ServiceOptions, type ShardServices } from './shard-services.ts';
import type { FastifyInstance } from 'fastify';
import { manifestStore, openBlobStore } from '../../router/index.ts';
import { tenantsToFence } from '../moves/epoch-fencing.ts';
import { sweepRetired } from '../moves/retired-sweeper.ts';
import { join } from 'node:path';

/** With a fleet blob store, tombstone every tenant whose manifest epoch has moved on elsewhere. */
async function fenceAtStartup(svc: ShardServices): Promise<void> {
  if (svc.config.blob === undefined) return;
  const blob = openBlobStore(svc.config.blob);
  try {
    const current = await manifestStore(blob).read();
    if (current === null) return;
    const records = svc.store.list(undefined, Number.MAX_SAFE_INTEGER).records;
    for (const d of tenantsToFence(svc.config.id, records, current.manifest)) {
      svc.log.warn({ tenantId: d.tenantId, owner: d.owner, epoch: d.epoch }, 'fencing: the manifest says this tenant moved on; tombstoning it');
      await svc.store.markMoved(d.tenantId, d.owner, d.epoch, { type: 'system' });
    }
  } catch (err) {
    // Unreachable or invalid manifest: serve what we have (the router's 421 path still protects moves).
    svc.log.warn({ err }, 'fencing: could not read the fleet manifest at start-up');
  } finally {
    await blob.close();
  }
}

export interface RunningShard {
  readonly url: string;
  readonly port: number;
  readonly app: FastifyInstance;
  readonly services: ShardServices;
  readonly routes: ReadonlyArray<{ method: string; url: string }>;
  close(): Promise<void>;
}

export async function startShard(config: ShardConfig, opts: Partial<ServiceOptions> & { log?: pino.Logger } = {}): Promise<RunningShard> {
  const log = opts.log ?? createLogger({ level: config.logLevel, base: { shardId: config.id } });
  const services = createShardServices(config, { ...opts, log });
  try {
    await fenceAtStartup(services);
  } catch (err) {
    await services.close();
    throw err;
  }
  const { app, startDraining, routes } = buildApp(services);
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    await services.close();
    throw err;
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  // Moved-away tenants' data: swept at start and hourly after its grace period.
  const graceMs = config.limits.retiredGraceHours * 3_600_000;
  const sweep = (): void => {
    void sweepRetired(join(services.dataDir, 'retired'), graceMs, services.now().getTime()).then((removed) => {
      if (removed.length > 0) services.log.info({ removed }, 'deleted the data of tenants moved away more than the grace period ago');
    });
  };
  sweep();
  const sweeper = setInterval(sweep, 3_600_000);
  sweeper.unref();
  // One shard-wide timer evicts idle tenants (no timer per tenant).
  const stopIdleSweep = services.lifecycle.startIdleSweep((ms, fn) => {
    const t = setInterval(fn, ms);
    t.unref();
    return () => clearInterval(t);
  });
  let closing: Promise<void> | null = null;
  return {
    url: `http://${host}:${port}`,
    port,
    app,
    services,
    routes,
    close() {
      closing ??= (async () => {
        startDraining();
        clearInterval(sweeper);
        stopIdleSweep();
        const deadline = setTimeout(() => app.server.closeAllConnections(), config.limits.drainTimeoutMs);
        try {
          await app.close();
          // app.close() does not wait for WebSocket messages still being handled: they may yet
          // write state and audit records, so the databases stay open until they finish.
          await Promise.race([services.sockets.idle(), new Promise<void>((ok) => setTimeout(ok, config.limits.drainTimeoutMs).unref())]);
        } finally {
          clearTimeout(deadline);
          await services.close();
        }
      })();
      return closing;
    },
  };
}
