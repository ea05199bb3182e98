// buildApp: the shard's Fastify instance with every route wired. Never listens (start-shard does).
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { ShardServices } from './shard-services.ts';
import { registerControlRoutes } from '../http/control-routes.ts';
import { installErrorHandling } from '../http/error-handler.ts';
import { registerHealthRoutes } from '../http/health-routes.ts';
import { registerRpcRoutes } from '../http/rpc-routes.ts';
import { attachWsTransport } from '../http/ws-transport.ts';
import { AppError } from '../../router/errors/app-error.ts';
import { registerMoveRoutes } from '../moves/move-routes.ts';
import { registerAiRoutes } from '../ai/register-ai-routes.ts';
import { registerBackupRoutes } from '../snapshot/backup-routes.ts';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

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
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
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
      { reqId: req.id, method: req.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10, tenantId: req.tenantContext?.id },
      'request',
    );
  });

  registerHealthRoutes(app, svc, () => draining);
  registerControlRoutes(app, svc);
  registerRpcRoutes(app, svc);
  attachWsTransport(app, svc);
  // Feature routes (one line each):
  registerAiRoutes(app, svc);
  registerBackupRoutes(app, svc);
  registerMoveRoutes(app, svc);

  return {
    app,
    routes,
    startDraining() {
      draining = true;
    },
  };
}
