// The credential a request presents, in one place for router and shard: `Authorization: Bearer <x>`,
// else `x-api-key: <x>` (what Anthropic-style and some OpenAI-compatible clients send).
import { bearerOf, isAdminKeyShape, parseTenantToken } from './tenant-id.ts';

/** The raw credential; null when the request presents none. Authorization wins over x-api-key. */
export function presentedCredential(authorization: string | null | undefined, xApiKey: string | null | undefined): string | null {
  const bearer = bearerOf(authorization);
  if (bearer !== null) return bearer;
  if (xApiKey === null || xApiKey === undefined) return null;
  const key = xApiKey.trim();
  return /^\S+$/.test(key) ? key : null;
}

/** The credential as an `Authorization` value (how the shard's auth reads it); undefined when none. */
export function authorizationOf(authorization: string | null | undefined, xApiKey: string | null | undefined): string | undefined {
  if (authorization !== null && authorization !== undefined) return authorization;
  const raw = presentedCredential(null, xApiKey);
  return raw === null ? undefined : `Bearer ${raw}`;
}

/** Who a credential claims to be, before anyone checked it: `tenant:<id>`, `admin`, or `other`. */
export function claimOf(raw: string): string {
  const tok = parseTenantToken(raw);
  if (tok !== null) return `tenant:${tok.tenantId}`;
  return isAdminKeyShape(raw) ? 'admin' : 'other';
}
