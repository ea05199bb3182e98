// POST /hooks/<tenantId>/<channel>: platform deliveries, authenticated by the channel's own secret
// (never a tenant token), behind the ownership gate (421 moved / 503 frozen). WebChat adds its page,
// widget and the visitor inbox under the same path.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../router/errors/app-error.ts';
import { isTenantId } from '../../router/identity/tenant-id.ts';
import type { InboundRequest } from './channel-adapter.ts';
import type { ChannelsService } from './channels-service.ts';
import { checkPublishableKey, publishableKeyOf, VisitorTokenSchema, visitorConversation, type WebchatCredentials, type WebchatSettings } from './platforms/webchat-adapter.ts';
import { VisitorRateLimiter } from './visitor-rate-limit.ts';
import { WEBCHAT_WIDGET_JS, webchatPage } from './webchat-page.ts';

function inbound(req: FastifyRequest, subPath: string): InboundRequest {
  const headers: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
  return { method: req.method, subPath, headers, query: req.query as Record<string, string | undefined>, rawBody: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0) };
}

export function registerChannelRoutes(app: FastifyInstance, svc: ChannelsService): void {
  const limiter = new VisitorRateLimiter({ now: () => svc.core.now().getTime() });
  void app.register(async (scope) => {
    // Signatures are over the exact bytes: every body stays a Buffer here.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    const handler = async (req: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
      const params = req.params as { tenantId: string; channel: string; '*'?: string };
      if (!isTenantId(params.tenantId)) throw new AppError('CHANNEL_NOT_FOUND');
      const release = svc.core.ownership.enter(params.tenantId);
      if (release === null) throw new AppError('CHANNEL_NOT_FOUND'); // not a tenant of this shard
      // resident for the whole delivery (the lifecycle runs onActive: channels load, events resume)
      let lease;
      try {
        lease = await svc.core.lifecycle.lease(params.tenantId);
      } catch (err) {
        release();
        throw err;
      }
      req.tenantRelease = () => {
        lease.release();
        release();
      };
      const sub = params['*'] ?? '';
      const live = await svc.liveOrNotFound(params.tenantId, params.channel, String(req.id));
      if (live.file.platform === 'webchat') {
        const creds = live.ctx.credentials as WebchatCredentials;
        const settings = live.ctx.settings as WebchatSettings;
        const base = `/hooks/${params.tenantId}/${params.channel}`;
        if (req.method === 'GET' && sub === 'widget.js') return reply.type('text/javascript; charset=utf-8').header('cache-control', 'public, max-age=300').send(WEBCHAT_WIDGET_JS);
        const r = inbound(req, sub);
        checkPublishableKey(creds, publishableKeyOf(r));
        if (req.method === 'GET' && sub === '') {
          return reply.type('text/html; charset=utf-8').header('content-security-policy', "default-src 'self'; style-src 'unsafe-inline'").send(webchatPage({ title: settings.title, base, publishableKey: creds.publishableKey ?? '' }));
        }
        if (req.method === 'GET' && sub === 'messages') {
          const token = VisitorTokenSchema.safeParse(r.headers['x-openclawmu-visitor']);
          if (!token.success) throw new AppError('CHANNEL_PAYLOAD_INVALID', { details: { field: 'x-openclawmu-visitor' } });
          const after = Number((req.query as { after?: string }).after ?? 0);
          const tc = await svc.activate(svc.systemContext(params.tenantId, String(req.id)));
          return { messages: tc.queues.outbox(params.channel, visitorConversation(token.data), Number.isFinite(after) ? after : 0, 100) };
        }
        if (req.method === 'POST') {
          const token = (() => {
            try {
              return VisitorTokenSchema.parse((JSON.parse(r.rawBody.toString('utf8')) as { visitorToken?: unknown }).visitorToken);
            } catch {
              return null;
            }
          })();
          if (token !== null && !limiter.take(`${params.tenantId}\u0000${params.channel}\u0000${token}`, settings.visitorMessagesPerMinute)) {
            throw new AppError('CHANNEL_RATE_LIMITED', { headers: { 'retry-after': '10' } });
          }
        }
      }
      if (req.method !== 'POST') throw new AppError('METHOD_NOT_ALLOWED');
      const res = await svc.receive(params.tenantId, params.channel, inbound(req, sub), String(req.id));
      return reply.code(res.status).send(res.body ?? {});
    };
    scope.route({ method: ['GET', 'POST'], url: '/hooks/:tenantId/:channel', handler });
    scope.route({ method: ['GET', 'POST'], url: '/hooks/:tenantId/:channel/*', handler });
  });
}
