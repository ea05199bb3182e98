// POST /rpc: JSON-RPC 2.0 over HTTP for a tenant token (batches, notifications).
import type { FastifyInstance } from 'fastify';
import type { ShardServices } from '../app/shard-services.ts';
import { dispatchRpcFrame } from '../rpc/rpc-dispatch.ts';
import { tenantOf } from './tenant-request.ts';

export function registerRpcRoutes(app: FastifyInstance, svc: ShardServices): void {
  app.register(async (scope) => {
    // The frame is parsed by the dispatcher, so a malformed body is a JSON-RPC parse error (-32700).
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    scope.post('/rpc', async (req, reply) => {
      const tenant = await tenantOf(req);
      const abort = new AbortController();
      reply.raw.once('close', () => abort.abort());
      const out = await dispatchRpcFrame(typeof req.body === 'string' ? req.body : '', {
        methods: svc.rpcMethods,
        maxBatch: svc.config.limits.rpcBatchMax,
        responseLimits: svc.config.limits,
        context: () => ({ tenant, signal: abort.signal }),
        onCall: (method, outcome) => svc.metrics.rpcCalls.inc({ method: method ?? 'invalid', outcome }),
      });
      if (out === null) return reply.code(204).send();
      return reply.type('application/json').send(out);
    });
  });
}
