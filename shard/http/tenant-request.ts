// Turns a tenant request into a TenantContext: ownership gate → token check → in-flight accounting.
import type { FastifyRequest } from 'fastify';
import { AppError } from '../../router/errors/app-error.ts';
import type { CoreServices } from '../app/shard-feature.ts';
import { credentialOf, tenantAuthorizationOf } from '../auth/callers.ts';
import { createTenantContext, type TenantContext } from '../tenants/tenant-context.ts';
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
    const actor: AuditActor = auth.grace ? { type: 'tenant', keyId: auth.keyId, grace: true } : { type: 'tenant', keyId: auth.keyId };
    if (auth.grace) {
      svc.audit.append({ tenant: rec.id, actor, action: 'auth.token.grace_used', target: rec.id, outcome: 'ok', requestId });
    }
    // counted once authenticated, so a stranger's bad tokens cannot use up the tenant's places
    const admitted = svc.admission.admit(rec.id);
    return {
      ctx: tenantContext(svc, rec.id, actor, requestId),
      release: () => {
        admitted();
        release?.();
      },
    };
  } catch (err) {
    release?.();
    throw err;
  }
}

export function tenantContext(svc: CoreServices, id: string, actor: AuditActor, requestId: string): TenantContext {
  return createTenantContext(
    { shardId: svc.config.id, tenantDefaults: svc.config.tenantDefaults as Record<string, unknown>, store: svc.store, lifecycle: svc.lifecycle, audit: svc.audit },
    id,
    actor,
    requestId,
  );
}

/**
 * For tenant HTTP routes: the TenantContext of this request, in flight and holding the tenant
 * resident (a lease) until the reply ends, so no eviction closes its databases under it.
 */
export async function tenantOf(req: FastifyRequest): Promise<TenantContext> {
  if (req.tenantContext !== undefined) return req.tenantContext;
  const svc = req.server.shard;
  const { ctx, release } = authenticateTenant(svc, tenantAuthorizationOf(req.headers), String(req.id));
  let lease;
  try {
    lease = await svc.lifecycle.lease(ctx.id);
  } catch (err) {
    release();
    throw err;
  }
  req.tenantContext = ctx;
  req.tenantRelease = () => {
    lease.release();
    release();
  };
  return ctx;
}
