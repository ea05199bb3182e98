// tenants.usage, tenants.quota.status, tenants.usage.history: a tenant reading its own usage.
import { z } from 'zod';
import { defineMethod, type RpcMethod } from '../../rpc/rpc-method.ts';
import type { AiService } from '../ai-service.ts';
import { windowsAt } from '../quota/quota-math.ts';
import { dailyTotals, totalsBetween } from './usage-ledger.ts';

export function usageMethods(ai: AiService): RpcMethod[] {
  return [
    defineMethod({
      name: 'tenants.usage',
      summary: "This tenant's usage today and this month (UTC): requests, tokens by kind, cost in USD.",
      params: z.object({}).strict().optional(),
      handler: (ctx) => {
        const w = windowsAt(ai.nowMs());
        const db = ctx.tenant.stateDb();
        return {
          id: ctx.tenant.id,
          day: { start: new Date(w.dayStart).toISOString(), ...totalsBetween(db, w.dayStart, w.dayEnd) },
          month: { start: new Date(w.monthStart).toISOString(), ...totalsBetween(db, w.monthStart, w.monthEnd) },
        };
      },
    }),
    defineMethod({
      name: 'tenants.quota.status',
      summary: 'Limits, consumption (settled + reserved), remaining, and when each window resets.',
      params: z.object({}).strict().optional(),
      handler: (ctx) => ai.gateOf(ctx.tenant).status(ctx.tenant.record().quota),
    }),
    defineMethod({
      name: 'tenants.usage.history',
      summary: 'Per-day usage for the last `days` days (UTC, default 30).',
      params: z.object({ days: z.number().int().min(1).max(400).default(30) }).strict().default({ days: 30 }),
      handler: (ctx, p) => {
        const w = windowsAt(ai.nowMs());
        const from = w.dayStart - (p.days - 1) * 86_400_000;
        return { id: ctx.tenant.id, from: new Date(from).toISOString(), days: dailyTotals(ctx.tenant.stateDb(), from, w.dayEnd) };
      },
    }),
  ];
}
