// tenants.*: a tenant's operations on itself (never on another tenant: the id comes from the token).
import { z } from 'zod';
import { AppError } from '../../../router/errors/app-error.ts';
import { defineMethod, type RpcMethod } from '../rpc-method.ts';
import { viewOf } from '../../tenants/tenant-record.ts';
import type { TenantStore } from '../../tenants/tenant-store.ts';

export function tenantSelfMethods(store: TenantStore): RpcMethod[] {
  return [
    defineMethod({
      name: 'tenants.get',
      summary: 'This tenant: id, display name, epoch, quota, token key id.',
      params: z.object({}).strict(),
      handler: (ctx) => viewOf(ctx.tenant.record(), ctx.tenant.shardId),
    }),
    defineMethod({
      name: 'tenants.rotate',
      summary: 'Rotates this tenant token; the new one is returned once. Optional graceSeconds keeps the old one working that long.',
      params: z.object({ graceSeconds: z.number().int().min(0).max(7 * 24 * 3600).optional() }).strict(),
      handler: async (ctx, p) => {
        const { token } = await store.rotate(ctx.tenant.id, p.graceSeconds ?? 0, ctx.tenant.actor, ctx.tenant.requestId);
        return { id: ctx.tenant.id, token };
      },
    }),
    defineMethod({
      name: 'tenants.delete',
      summary: 'Deletes this tenant and all its data. Needs confirm: true.',
      params: z.object({ confirm: z.boolean().optional() }).strict(),
      handler: async (ctx, p) => {
        if (p.confirm !== true) throw new AppError('CONFIRM_REQUIRED');
        await store.delete(ctx.tenant.id, ctx.tenant.actor, ctx.tenant.requestId);
        return { id: ctx.tenant.id, deleted: true };
      },
    }),
  ];
}
