// cron.* over JSON-RPC (the tenant's own jobs; the tenant comes from the token): the contract of issue 14.
import { z } from 'zod';
import { defineMethod, type RpcMethod } from '../rpc/rpc-method.ts';
import { JobInputSchema, JobPatchSchema } from './cron-job.ts';
import type { CronService } from './cron-service.ts';

const JobId = z.string().regex(/^cj_[0-9a-f]{16}$/, 'a cron job id (cj_ + 16 hex)');
const ById = z.object({ id: JobId }).strict();

export function cronRpcMethods(cron: () => CronService): RpcMethod[] {
  return [
    defineMethod({
      name: 'cron.list',
      summary: 'The tenant\'s cron jobs → {jobs}.',
      params: z.object({}).strict().optional(),
      handler: (ctx) => cron().list(ctx.tenant),
    }),
    defineMethod({
      name: 'cron.get',
      summary: 'One cron job, with its next run time and whether it is running.',
      params: ById,
      handler: (ctx, p) => cron().get(ctx.tenant, p.id),
    }),
    defineMethod({
      name: 'cron.add',
      writesDisk: true,
      summary: 'Adds a job {name, schedule, tz?, action, missed?, retry?, enabled?} → {id, nextRunAt}.',
      params: JobInputSchema,
      handler: (ctx, p) => cron().add(ctx.tenant, p),
    }),
    defineMethod({
      name: 'cron.update',
      writesDisk: true,
      summary: 'Changes fields of a job {id, ...fields}; a new schedule starts from now.',
      params: JobPatchSchema.extend({ id: JobId }).strict(),
      handler: (ctx, p) => {
        const { id, ...patch } = p;
        return cron().update(ctx.tenant, id, patch);
      },
    }),
    defineMethod({
      name: 'cron.remove',
      summary: 'Removes a job and its run history.',
      params: ById,
      handler: (ctx, p) => cron().remove(ctx.tenant, p.id),
    }),
    defineMethod({
      name: 'cron.enable',
      summary: 'Enables a job; it runs from its next time (no catch-up for the time it was off).',
      params: ById,
      handler: (ctx, p) => cron().setEnabled(ctx.tenant, p.id, true),
    }),
    defineMethod({
      name: 'cron.disable',
      summary: 'Disables a job (pending re-runs are cancelled).',
      params: ById,
      handler: (ctx, p) => cron().setEnabled(ctx.tenant, p.id, false),
    }),
    defineMethod({
      name: 'cron.run',
      summary: 'Runs a job now; answers once the run is claimed → {id, scheduledAt}.',
      params: ById,
      handler: (ctx, p) => cron().runNow(ctx.tenant, p.id),
    }),
    defineMethod({
      name: 'cron.runs',
      summary: 'A job\'s runs, newest first {id, limit?} → {runs: [{scheduledAt, startedAt, finishedAt, outcome, error?}]}.',
      params: z.object({ id: JobId, limit: z.number().int().min(1).max(1000).default(20) }).strict(),
      handler: (ctx, p) => cron().runs(ctx.tenant, p.id, p.limit),
    }),
    defineMethod({
      name: 'cron.status',
      summary: 'The tenant\'s cron at a glance: jobs, enabled, running, next run, limits.',
      params: z.object({}).strict().optional(),
      handler: (ctx) => cron().status(ctx.tenant),
    }),
  ];
}
