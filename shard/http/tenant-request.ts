// Turns a tenant request into a TenantContext: ownership gate → token check → in-flight accounting.
import type { FastifyRequest } from 'fastify';
import { AppError } from '../../router/errors/app-error.ts';
import type { CoreServices } from '../app/shard-feature.ts';
import { credentialOf, tenantAuthorizationOf } from '../auth/callers.ts';
import { deepMerge, stripAdminKeys } from '../config/tenant-config.ts';
import type { TenantContext } from '../tenants/tenant-context.ts';
import { resolveInside } from '../tenants/tenant-paths.ts';
import type { AuditActor } from '../audit/audit-record.ts';

declare module 'fastify' {
  interface FastifyRequest {
    tenantContext?: TenantContext;
    /** Ends this request's in-flight count (called by the onResponse / onRequestAbort hooks). */
    tenantRelease?: () => void;
  }
  interface FastifyInstance {
    shard: CoreServices;
  }
}

/**
 * Authenticates a tenant token (header value) for `tenantId`: the ownership gate runs first (421 /
 * 503 without executing), then the constant-time token check. Returns the context and the release
 * function of the in-flight count.
 */
export function authenticateTenant(
  svc: CoreServices,
  authorization: string | undefined,
  requestId: string,
): { ctx: TenantContext; release: () => void } {
  const cred = credentialOf(authorization);
  if (cred.kind === 'none') {
    svc.metrics.authFailures.inc({ kind: 'missing' });
    throw new AppError('AUTH_REQUIRED');
  }
  if (cred.kind === 'admin') {
    svc.metrics.authFailures.inc({ kind: 'forbidden' });
    throw new AppError('AUTH_FORBIDDEN', { message: 'Admin keys reach the control plane, not the tenant API.' });
  }
  const release = svc.ownership.enter(cred.tenantId);
  try {
    const auth = svc.store.authenticate(cred.raw);
    if (auth === null) {
      svc.metrics.authFailures.inc({ kind: 'invalid' });
      throw new AppError('AUTH_INVALID');
    }
    const rec = svc.store.require(auth.tenantId);
    if (rec.disabled) {
      svc.metrics.authFailures.inc({ kind: 'disabled' });
      throw new AppError('AUTH_TENANT_DISABLED');
    }
    const actor: AuditActor = { type: 'tenant', keyId: auth.keyId };
    if (auth.grace) {
      svc.audit.append({ tenant: rec.id, actor, action: 'auth.token.grace_used', target: rec.id, outcome: 'ok', requestId });
    }
    return { ctx: tenantContext(svc, rec.id, actor, requestId), release: release ?? (() => {}) };
  } catch (err) {
    release?.();
    throw err;
  }
}

export function tenantContext(svc: CoreServices, id: string, actor: AuditActor, requestId: string): TenantContext {
  const dir = svc.store.dirOf(id);
  return {
    id,
    dir,
    shardId: svc.config.id,
    actor,
    requestId,
    record: () => svc.store.require(id),
    config: () => stripAdminKeys(deepMerge(svc.config.tenantDefaults as Record<string, unknown>, svc.store.readOverlay(id))),
    stateDb: () => svc.databases.state(id, dir),
    memoryDb: () => svc.databases.memory(id, dir),
    resolvePath: (rel) => resolveInside(dir, rel),
    audit: (input) => {
      svc.audit.append({ ...input, tenant: id, actor, requestId });
    },
  };
}

/** For tenant HTTP routes: the TenantContext of this request; in flight until the reply ends. */
export async function tenantOf(req: FastifyRequest): Promise<TenantContext> {
  if (req.tenantContext !== undefined) return req.tenantContext;
  const { ctx, release } = authenticateTenant(req.server.shard, tenantAuthorizationOf(req.headers), String(req.id));
  req.tenantContext = ctx;
  req.tenantRelease = release;
  return ctx;
}
