// The one rule for a token inside its rotation grace period: it reads and works, but it cannot
// rotate, delete the tenant or change credentials (a leaked old token must not lock the owner out).
import { AppError } from '../../router/errors/app-error.ts';
import type { AuditActor } from '../audit/audit-record.ts';

export function refuseGraceCredential(actor: AuditActor): void {
  if (actor.grace === true) throw new AppError('AUTH_GRACE_TOKEN_LIMITED');
}
