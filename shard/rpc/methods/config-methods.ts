// config.*: a tenant's config overlay: read merged, write validated, admin-only keys refused.
import { z } from 'zod';
import { AppError } from '../../../router/errors/app-error.ts';
import { defineMethod, type RpcMethod } from '../rpc-method.ts';
import {
  ADMIN_ONLY_KEYS,
  TenantOverlaySchema,
  adminKeyIn,
  mergePatch,
  parseDottedPath,
  setAtPath,
  stripAdminKeys,
} from '../../config/tenant-config.ts';
import type { TenantStore } from '../../tenants/tenant-store.ts';
import type { TenantContext } from '../../tenants/tenant-context.ts';

function validated(next: unknown): Record<string, unknown> {
  const key = adminKeyIn(next);
  if (key !== undefined) throw new AppError('CONFIG_ADMIN_KEY', { details: { key, adminOnlyKeys: ADMIN_ONLY_KEYS } });
  const res = TenantOverlaySchema.safeParse(next);
  if (!res.success) {
    const issues = res.error.issues.map((i) => ({ field: i.path.join('.') || '(root)', problem: i.message }));
    throw new AppError('CONFIG_INVALID', { message: `Invalid config: ${issues.map((i) => `${i.field}: ${i.problem}`).join('; ')}`, details: { issues } });
  }
  return res.data as Record<string, unknown>;
}

async function write(store: TenantStore, ctx: TenantContext, change: (cur: Record<string, unknown>) => Record<string, unknown>, what: Record<string, unknown>): Promise<Record<string, unknown>> {
  await store.editOverlay(ctx.id, (cur) => validated(change(cur)));
  ctx.audit({ action: 'config.write', target: ctx.id, outcome: 'ok', details: what });
  return { ok: true, config: ctx.config() };
}

export function configMethods(store: TenantStore): RpcMethod[] {
  return [
    defineMethod({
      name: 'config.get',
      summary: 'The tenant config: operator defaults with the tenant overlay merged over them (admin-only keys stripped).',
      params: z.object({ overlayOnly: z.boolean().optional() }).strict(),
      handler: (ctx, p) => (p.overlayOnly === true ? stripAdminKeys(store.readOverlay(ctx.tenant.id)) : ctx.tenant.config()),
    }),
    defineMethod({
      name: 'config.set',
      summary: 'Sets one value at a dotted path (e.g. memory.vectorWeight); value null removes it.',
      params: z.object({ path: z.string().min(1).max(256), value: z.unknown() }).strict(),
      handler: (ctx, p) => {
        const segs = parseDottedPath(p.path);
        if (segs === null) throw new AppError('VALIDATION_FAILED', { message: 'path must be dotted identifiers like memory.vectorWeight', details: { path: p.path } });
        if (ADMIN_ONLY_KEYS.includes(segs[0] as string)) throw new AppError('CONFIG_ADMIN_KEY', { details: { key: segs[0], adminOnlyKeys: ADMIN_ONLY_KEYS } });
        return write(store, ctx.tenant, (cur) => setAtPath(cur, segs, p.value === null ? undefined : p.value), { op: 'set', path: p.path });
      },
    }),
    defineMethod({
      name: 'config.patch',
      summary: 'Applies a JSON merge patch (RFC 7396) to the overlay.',
      params: z.object({ patch: z.record(z.string(), z.unknown()) }).strict(),
      handler: (ctx, p) => {
        const key = adminKeyIn(p.patch);
        if (key !== undefined) throw new AppError('CONFIG_ADMIN_KEY', { details: { key, adminOnlyKeys: ADMIN_ONLY_KEYS } });
        return write(store, ctx.tenant, (cur) => mergePatch(cur, p.patch) as Record<string, unknown>, { op: 'patch', keys: Object.keys(p.patch) });
      },
    }),
    defineMethod({
      name: 'config.schema',
      summary: 'The JSON Schema of the tenant overlay.',
      params: z.object({}).strict(),
      handler: () => z.toJSONSchema(TenantOverlaySchema),
    }),
  ];
}
