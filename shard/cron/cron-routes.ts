// Control-plane routes for a tenant's cron jobs (admin key): what `openclawmu cron ...` calls.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError, TENANT_ID_RULE, isTenantId } from '../../router/index.ts';
import type { CoreServices } from '../app/shard-feature.ts';
import { adminOf } from '../http/admin-scope.ts';
import { parseBody } from '../http/control-routes.ts';
import { tenantContext } from '../http/tenant-request.ts';
import type { TenantContext } from '../tenants/tenant-context.ts';
import { JobInputSchema, JobPatchSchema } from './cron-job.ts';
import type { CronService } from './cron-service.ts';

const RunsQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(20) }).strict();

/** The tenant of the route, owned here (a moved tenant answers 421, a frozen one 503). */
function tenantOf(core: CoreServices, req: FastifyRequest): TenantContext {
  const id = (req.params as { id?: string }).id ?? '';
  if (!isTenantId(id)) throw new AppError('SHARD_TENANT_ID_INVALID', { details: { rule: TENANT_ID_RULE } });
  const st = core.ownership.get(id);
  if (st !== undefined && st.kind !== 'owned') core.ownership.refuseIfNotOwned(st);
  core.store.require(id);
  return tenantContext(core, id, adminOf(req), String(req.id));
}

function jobOf(req: FastifyRequest): string {
  return (req.params as { job?: string }).job ?? '';
}

export function registerCronRoutes(app: FastifyInstance, cron: CronService, core: CoreServices): void {
  app.get('/v1/tenants/:id/cron', async (req) => cron.list(tenantOf(core, req)));
  app.get('/v1/tenants/:id/cron/status', async (req) => cron.status(tenantOf(core, req)));
  app.post('/v1/tenants/:id/cron', async (req, reply) => reply.code(201).send(cron.add(tenantOf(core, req), parseBody(JobInputSchema, req.body))));
  app.get('/v1/tenants/:id/cron/:job', async (req) => cron.get(tenantOf(core, req), jobOf(req)));
  app.patch('/v1/tenants/:id/cron/:job', async (req) => cron.update(tenantOf(core, req), jobOf(req), parseBody(JobPatchSchema, req.body)));
  app.delete('/v1/tenants/:id/cron/:job', async (req) => cron.remove(tenantOf(core, req), jobOf(req)));
  app.post('/v1/tenants/:id/cron/:job/enable', async (req) => cron.setEnabled(tenantOf(core, req), jobOf(req), true));
  app.post('/v1/tenants/:id/cron/:job/disable', async (req) => cron.setEnabled(tenantOf(core, req), jobOf(req), false));
  app.post('/v1/tenants/:id/cron/:job/run', async (req, reply) => reply.code(202).send(cron.runNow(tenantOf(core, req), jobOf(req))));
  app.get('/v1/tenants/:id/cron/:job/runs', async (req) => cron.runs(tenantOf(core, req), jobOf(req), parseBody(RunsQuery, req.query).limit));
}
