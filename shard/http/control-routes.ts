// The control plane (admin key): tenant lifecycle, tokens, quotas, and ownership controls for moves.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError } from '../../router/errors/app-error.ts';
import { TENANT_ID_RULE, isTenantId } from '../../router/identity/tenant-id.ts';
import type { CoreServices } from '../app/shard-feature.ts';
import { adminOf } from './admin-scope.ts';
import { QuotaPatchSchema, QuotaSchema, viewOf } from '../tenants/tenant-record.ts';

const CreateBody = z
  .object({ id: z.string(), displayName: z.string().min(1).max(200).optional(), quota: QuotaSchema.optional() })
  .strict();
const PatchBody = z
  .object({ displayName: z.string().min(1).max(200).optional(), disabled: z.boolean().optional(), quota: QuotaPatchSchema.optional() })
  .strict();
const RotateBody = z.object({ graceSeconds: z.number().int().min(0).max(7 * 24 * 3600).optional() }).strict();
const MovedBody = z.object({ owner: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/), epoch: z.number().int().positive() }).strict();
const ListQuery = z.object({ cursor: z.string().max(64).optional(), limit: z.coerce.number().int().min(1).max(10_000).optional() });

export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const res = schema.safeParse(body ?? {});
  if (!res.success) {
    const issues = res.error.issues.map((i) => ({ field: i.path.join('.') || '(body)', problem: i.message }));
    throw new AppError('VALIDATION_FAILED', { message: `Invalid request: ${issues.map((i) => `${i.field}: ${i.problem}`).join('; ')}`, details: { issues } });
  }
  return res.data;
}

function idParam(req: FastifyRequest): string {
  const id = (req.params as { id?: string }).id ?? '';
  if (!isTenantId(id)) throw new AppError('SHARD_TENANT_ID_INVALID', { details: { rule: TENANT_ID_RULE } });
  return id;
}

/** Admin routes on one tenant also pass the ownership gate (a moved tenant answers 421). */
function gate(svc: CoreServices, id: string): void {
  const st = svc.ownership.get(id);
  if (st !== undefined && st.kind === 'moved') svc.ownership.refuseIfNotOwned(st);
}

/** The control plane's routes; registered inside the admin scope (its hook checks the admin key). */
export function registerControlRoutes(app: FastifyInstance, svc: CoreServices): void {
  app.post('/v1/tenants', async (req, reply) => {
    const actor = adminOf(req);
    const body = parseBody(CreateBody, req.body);
    if (!isTenantId(body.id)) throw new AppError('SHARD_TENANT_ID_INVALID', { details: { rule: TENANT_ID_RULE, id: String(body.id).slice(0, 64) } });
    const st = svc.ownership.get(body.id);
    if (st?.kind === 'frozen') svc.ownership.refuseIfNotOwned(st);
    const { record, token } = await svc.store.create(body, actor, String(req.id));
    req.log.info({ tenantId: record.id, keyId: record.token.keyId }, 'tenant created');
    return reply.code(201).send({ ...viewOf(record, svc.config.id), token });
  });

  app.get('/v1/tenants', async (req) => {
    const q = parseBody(ListQuery, req.query);
    const limit = Math.min(q.limit ?? 100, svc.config.limits.listPageMax);
    const { records, nextCursor } = svc.store.list(q.cursor, limit);
    return { tenants: records.map((r) => viewOf(r, svc.config.id)), nextCursor };
  });

  app.get('/v1/tenants/:id', async (req) => {
    const id = idParam(req);
    gate(svc, id);
    return viewOf(svc.store.require(id), svc.config.id);
  });

  app.patch('/v1/tenants/:id', async (req) => {
    const actor = adminOf(req);
    const id = idParam(req);
    gate(svc, id);
    const body = parseBody(PatchBody, req.body);
    return viewOf(await svc.store.update(id, body, actor, String(req.id)), svc.config.id);
  });

  app.delete('/v1/tenants/:id', async (req) => {
    const actor = adminOf(req);
    const id = idParam(req);
    gate(svc, id);
    if ((req.query as { confirm?: string }).confirm !== 'true') throw new AppError('CONFIRM_REQUIRED', { details: { hint: 'DELETE /v1/tenants/:id?confirm=true' } });
    svc.store.require(id);
    await svc.store.delete(id, actor, String(req.id));
    return { id, deleted: true };
  });

  app.post('/v1/tenants/:id/token', async (req) => {
    const actor = adminOf(req);
    const id = idParam(req);
    gate(svc, id);
    const body = parseBody(RotateBody, req.body);
    const { token, record } = await svc.store.rotate(id, body.graceSeconds ?? 0, actor, String(req.id));
    return { id, token, tokenKeyId: record.token.keyId, graceUntil: record.previousToken?.notAfter ?? null };
  });

  // --- ownership controls used by moves (DESIGN §5-6) -----------------------------------------

  app.post('/v1/tenants/:id/freeze', async (req) => {
    const actor = adminOf(req);
    const id = idParam(req);
    gate(svc, id);
    const rec = await svc.store.setState(id, 'frozen', actor);
    const drained = await svc.ownership.drain(id, svc.config.limits.drainTimeoutMs);
    if (!drained) {
      // Could not drain in time: thaw so the tenant keeps working, and say so.
      await svc.store.setState(id, 'owned', actor);
      throw new AppError('SHARD_TENANT_BUSY', { message: 'In-flight requests did not drain in time; the tenant was thawed.', details: { inflight: svc.ownership.inflight(id) } });
    }
    svc.databases.close(id);
    return { id, epoch: rec.epoch, state: 'frozen' };
  });

  app.post('/v1/tenants/:id/thaw', async (req) => {
    const actor = adminOf(req);
    const id = idParam(req);
    gate(svc, id);
    const rec = await svc.store.setState(id, 'owned', actor);
    return { id, epoch: rec.epoch, state: 'owned' };
  });

  app.post('/v1/tenants/:id/moved', async (req) => {
    const actor = adminOf(req);
    const id = idParam(req);
    const body = parseBody(MovedBody, req.body);
    if (body.owner === svc.config.id) throw new AppError('VALIDATION_FAILED', { message: 'owner is this shard' });
    const rec = svc.store.get(id);
    if (rec !== undefined && rec.state !== 'frozen') throw new AppError('SHARD_TENANT_BUSY', { message: 'Freeze the tenant before marking it moved.' });
    const tomb = await svc.store.markMoved(id, body.owner, body.epoch, actor);
    return { id, state: 'moved', owner: tomb.owner, epoch: tomb.epoch };
  });

  app.get('/v1/shard', async () => {
    return { id: svc.config.id, tenants: svc.store.count(), inflight: svc.ownership.totalInflight(), version: VERSION };
  });
}

export const VERSION = '0.1.0';

