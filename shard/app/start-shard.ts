// Starts a shard: services, app, listen; close() stops accepting, drains, closes every database.
import type pino from 'pino';
import type { ShardConfig } from '../config/shard-config.ts';
import { createLogger } from '../observability/logger.ts';
import { buildApp } from './build-app.ts';
import { createShardServices, type ServiceOptions, type ShardServices } from './shard-services.ts';
import type { FastifyInstance } from 'fastify';

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
  const { app, startDraining, routes } = buildApp(services);
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    services.close();
    throw err;
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
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
        const deadline = setTimeout(() => app.server.closeAllConnections(), config.limits.drainTimeoutMs);
        try {
          await app.close();
        } finally {
          clearTimeout(deadline);
          services.close();
        }
      })();
      return closing;
    },
  };
}
