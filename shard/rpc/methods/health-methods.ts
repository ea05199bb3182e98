// health: a tenant's view of its shard and of itself.
import { z } from 'zod';
import { defineMethod } from '../rpc-method.ts';

export const healthMethods = [
  defineMethod({
    name: 'health',
    summary: 'Liveness of the shard serving this tenant, and the tenant state.',
    params: z.object({}).strict(),
    handler: (ctx) => ({ ok: true, shard: ctx.tenant.shardId, tenant: ctx.tenant.id, epoch: ctx.tenant.record().epoch, time: new Date().toISOString() }),
  }),
];
