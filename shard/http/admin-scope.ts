// The control plane's auth, in one place: admin routes register inside `adminRoutes`, whose scope has
// one onRequest hook that checks the admin key before any body is parsed or handler runs.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../../router/errors/app-error.ts';
import type { CoreServices } from '../app/shard-feature.ts';
import type { AuditActor } from '../audit/audit-record.ts';
import { requireAdmin } from '../auth/callers.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The admin caller, set by the admin scope's hook before the handler runs. */
    adminActor?: AuditActor;
  }
}

/** Registers admin routes in a scope whose every request must carry a configured admin key. */
export function adminRoutes(app: FastifyInstance, core: CoreServices, register: (scope: FastifyInstance) => void): void {
  void app.register(async (scope) => {
    scope.addHook('onRequest', async (req) => {
      const { keyId } = requireAdmin(req.headers.authorization, core.config.adminKeyHashes);
      req.adminActor = { type: 'admin', keyId };
    });
    register(scope);
  });
}

/** The admin caller of a request inside `adminRoutes` (the hook has already refused anyone else). */
export function adminOf(req: FastifyRequest): AuditActor {
  if (req.adminActor === undefined) throw new AppError('INTERNAL', { message: 'An admin route was registered outside the admin scope.' });
  return req.adminActor;
}
