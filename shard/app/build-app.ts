// buildApp: the shard's Fastify instance with every route wired. Never listens (start-shard does).
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { ShardServices } from './shard-services.ts';
import { installErrorHandling } from '../http/error-handler.ts';
import { registerHealthRoutes } from '../http/health-routes.ts';
import { registerRpcRoutes } from '../http/rpc-routes.ts';
import { wsRpcTransport } from '../http/ws-transport.ts';
import { attachUpgradeDispatcher, type UpgradeHandler } from '../http/ws-upgrades.ts';
import { AppError, requestIdOf } from '../../router/index.ts';

export interface AppHandle {
  app: FastifyInstance;
  /** Every route registered (method, URL template): for docs and the isolation sweep. */
  routes: Array<{ method: string; url: string }>;
  /** Starts refusing new requests (503) while in-flight ones finish. */
  startDraining(): void;
}

export function buildApp(svc: ShardServices): AppHandle {
  let draining = false;
  const app = Fastify({
    loggerInstance: svc.log,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: svc.config.limits.bodyLimitBytes,
    requestIdHeader: false,
    // The fleet's one request-id rule (router/core/request-id.ts): an id the router forwards is kept.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return requestIdOf(typeof given === 'string' ? given : undefined);
    },
    forceCloseConnections: false,
    return503OnClosing: true,
  }) as unknown as FastifyInstance;
  app.decorate('shard', svc);
  const routes: Array<{ method: string; url: string }> = [];
  app.addHook('onRoute', (r) => {
    for (const m of Array.isArray(r.method) ? r.method : [r.method]) if (m !== 'HEAD') routes.push({ method: m, url: r.url });
  });
  installErrorHandling(app);

  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
    reply.header('x-openclawmu-shard', svc.config.id);
    // Ends the tenant in-flight count whether the reply finishes or the client goes away.
    reply.raw.once('close', () => req.tenantRelease?.());
    if (draining && !req.url.startsWith('/healthz') && !req.url.startsWith('/metrics')) {
      throw new AppError('SHARD_DRAINING', { headers: { 'retry-after': '1', connection: 'close' } });
    }
  });
  // An operation is acknowledged only once its audit record is on disk (group-committed).
  app.addHook('onSend', async () => {
    await svc.audit.flushed();
  });
  app.addHook('onResponse', async (req, reply) => {
    req.tenantRelease?.();
    const route = req.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    svc.metrics.httpDuration.observe({ method: req.method, route, status: String(reply.statusCode) }, seconds);
    req.log.info(
      // reqId is already on req.log (Fastify's child logger): a second one made the JSON line carry the key twice.
      { method: req.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10, tenantId: req.tenantContext?.id },
      'request',
    );
  });

  registerHealthRoutes(app, svc, () => draining);
  registerRpcRoutes(app, svc);
  const upgrades = new Map<string, UpgradeHandler>([['/ws', wsRpcTransport(app, svc)]]);
  for (const { feature, services } of svc.features) {
    feature.routes?.(app, services, svc);
    for (const [path, handler] of Object.entries(feature.wsPaths ?? {})) {
      if (upgrades.has(path)) throw new Error(`WebSocket path ${path} is taken (feature ${feature.name})`);
      upgrades.set(path, (upgrade) => handler(upgrade, services));
    }
  }
  attachUpgradeDispatcher(app, upgrades);

  return {
    app,
    routes,
    startDraining() {
      draining = true;
    },
  };
}
