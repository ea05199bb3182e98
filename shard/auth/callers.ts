// Tells tenant and admin callers apart, in one place: every route asks here who is calling.
import { AppError } from '../../router/errors/app-error.ts';
import type { IncomingHttpHeaders } from 'node:http';
import { authorizationOf } from '../../router/identity/credential.ts';
import { bearerOf, isAdminKeyShape, parseTenantToken } from '../../router/identity/tenant-id.ts';
import { DUMMY_DIGEST, digestEquals, keyIdOf, sha256Hex } from './token-hash.ts';

export type Credential =
  | { kind: 'admin'; raw: string }
  | { kind: 'tenant'; raw: string; tenantId: string }
  | { kind: 'none' };

/** Classifies a bearer credential by shape (no secret checked yet). */
export function credentialOf(authorization: string | undefined): Credential {
  const raw = bearerOf(authorization);
  if (raw === null) return { kind: 'none' };
  if (isAdminKeyShape(raw)) return { kind: 'admin', raw };
  const parsed = parseTenantToken(raw);
  if (parsed !== null) return { kind: 'tenant', raw, tenantId: parsed.tenantId };
  return { kind: 'none' };
}

/**
 * The credential a tenant request presents, as an Authorization value: the header, else `x-api-key`
 * (Anthropic-style and some OpenAI-compatible clients send the key there). One rule with the router.
 */
export function tenantAuthorizationOf(headers: IncomingHttpHeaders): string | undefined {
  const key = headers['x-api-key'];
  return authorizationOf(headers.authorization, typeof key === 'string' ? key : undefined);
}

/** Checks an admin key against every configured hash without an early exit. Returns its key id. */
export function verifyAdminKey(raw: string, adminKeyHashes: readonly string[]): string | null {
  const presented = sha256Hex(raw);
  let match: string | null = null;
  for (const h of adminKeyHashes.length > 0 ? adminKeyHashes : [DUMMY_DIGEST]) {
    if (digestEquals(presented, h) && adminKeyHashes.length > 0) match = keyIdOf(h, true);
  }
  return match;
}

/** The admin caller of a control-plane request, or the 401/403 that refuses it. */
export function requireAdmin(authorization: string | undefined, adminKeyHashes: readonly string[]): { keyId: string } {
  const cred = credentialOf(authorization);
  if (cred.kind === 'none') throw new AppError('AUTH_REQUIRED');
  if (cred.kind === 'tenant') throw new AppError('AUTH_FORBIDDEN', { message: 'Tenant tokens cannot reach the control plane.' });
  const keyId = verifyAdminKey(cred.raw, adminKeyHashes);
  if (keyId === null) throw new AppError('AUTH_INVALID');
  return { keyId };
}
