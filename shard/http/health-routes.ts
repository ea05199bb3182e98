// /healthz (the process is up), /readyz (ready to serve tenants), /metrics (Prometheus text).
import type { FastifyInstance } from 'fastify';
import type { CoreServices } from '../app/shard-feature.ts';

export function registerHealthRoutes(app: FastifyInstance, svc: CoreServices, isDraining: () => boolean): void {
  app.get('/healthz', async () => ({ status: 'ok', shard: svc.config.id }));
  app.get('/readyz', async (_req, reply) => {
    if (isDraining()) return reply.code(503).send({ ready: false, shard: svc.config.id, reason: 'draining' });
    return { ready: true, shard: svc.config.id, tenants: svc.store.count() };
  });
  app.get('/metrics', async (_req, reply) => {
    const text = await svc.metrics.registry.metrics();
    return reply.type(svc.metrics.registry.contentType).send(text);
  });
}
