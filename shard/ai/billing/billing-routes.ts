// Control plane (admin key): GET /v1/tenants/:id/usage and GET /v1/tenants/:id/billing (JSON or CSV).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError } from '../../../router/errors/app-error.ts';
import { isTenantId, TENANT_ID_RULE } from '../../../router/identity/tenant-id.ts';
import type { CoreServices } from '../../app/shard-feature.ts';
import { adminOf } from '../../http/admin-scope.ts';
import { parseBody } from '../../http/control-routes.ts';
import { tenantContext } from '../../http/tenant-request.ts';
import type { TenantContext } from '../../tenants/tenant-context.ts';
import type { AiService } from '../ai-service.ts';
import { windowsAt } from '../quota/quota-math.ts';
import { rowsBetween, totalsBetween } from '../usage/usage-ledger.ts';
import { billingPeriod, csvHeader, csvRow } from './billing-report.ts';

const BillingQuery = z.object({ from: z.string().max(40).optional(), to: z.string().max(40).optional(), format: z.enum(['json', 'csv']).default('json'), rows: z.enum(['true', 'false']).default('true') });
const PAGE = 5000;

/** Runs `fn` on an owned tenant's context, counted in flight (a moved or frozen tenant is refused). */
function withTenant<T>(svc: CoreServices, req: FastifyRequest, fn: (t: TenantContext) => T): T {
  const actor = adminOf(req);
  const id = (req.params as { id?: string }).id ?? '';
  if (!isTenantId(id)) throw new AppError('SHARD_TENANT_ID_INVALID', { details: { rule: TENANT_ID_RULE } });
  const release = svc.ownership.enter(id);
  try {
    svc.store.require(id);
    return fn(tenantContext(svc, id, actor, String(req.id)));
  } finally {
    release?.();
  }
}

export function usageSummary(ai: AiService, t: TenantContext, nowMs: number) {
  const w = windowsAt(nowMs);
  const db = t.stateDb();
  return {
    id: t.id,
    day: { start: new Date(w.dayStart).toISOString(), ...totalsBetween(db, w.dayStart, w.dayEnd) },
    month: { start: new Date(w.monthStart).toISOString(), ...totalsBetween(db, w.monthStart, w.monthEnd) },
    quota: ai.gateOf(t).status(t.record().quota),
  };
}

/** Usage and billing routes; registered inside the admin scope. */
export function registerBillingRoutes(app: FastifyInstance, svc: CoreServices, ai: AiService): void {
  app.get('/v1/tenants/:id/usage', async (req) => withTenant(svc, req, (t) => usageSummary(ai, t, svc.now().getTime())));

  app.get('/v1/tenants/:id/billing', async (req, reply) => {
    const q = parseBody(BillingQuery, req.query);
    const { fromMs, toMs } = billingPeriod(q.from, q.to, svc.now().getTime());
    return withTenant(svc, req, (t) => {
      const db = t.stateDb();
      const period = { from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString() };
      if (q.format === 'csv') {
        let out = csvHeader();
        for (let after = 0; ; ) {
          const rows = rowsBetween(db, fromMs, toMs, after, PAGE);
          for (const r of rows) out += csvRow(t.id, r);
          const last = rows[rows.length - 1];
          if (last === undefined || rows.length < PAGE) break;
          after = last.id;
        }
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="${t.id}-${period.from.slice(0, 10)}-${period.to.slice(0, 10)}.csv"`)
          .send(out);
      }
      const totals = totalsBetween(db, fromMs, toMs);
      return { id: t.id, currency: 'USD', ...period, totals, ...(q.rows === 'true' ? { rows: rowsBetween(db, fromMs, toMs, 0, 100_000) } : {}) };
    });
  });
}
