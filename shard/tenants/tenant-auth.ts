// The constant-time check of a presented tenant token against the tenant's stored digests.
import { parseTenantToken } from '../../router/identity/tenant-id.ts';
import { DUMMY_DIGEST, digestEquals, sha256Hex } from '../auth/token-hash.ts';
import type { TenantRecord } from './tenant-record.ts';

export interface TenantAuth {
  tenantId: string;
  keyId: string;
  /** True when the previous token (inside its grace period) was used. */
  grace: boolean;
}

/**
 * Unknown tenant and wrong secret both return null after the same work (comparisons against a
 * dummy digest), so timing does not tell which tenants exist.
 */
export function checkTenantToken(token: string, recordOf: (id: string) => TenantRecord | undefined, nowMs: number): TenantAuth | null {
  const parsed = parseTenantToken(token);
  const presented = sha256Hex(token);
  const rec = parsed === null ? undefined : recordOf(parsed.tenantId);
  const current = rec?.token.hash ?? DUMMY_DIGEST;
  const okCurrent = digestEquals(presented, current);
  const prev = rec?.previousToken;
  const prevValid = prev !== undefined && Date.parse(prev.notAfter) > nowMs;
  const okPrev = digestEquals(presented, prevValid ? prev.hash : DUMMY_DIGEST);
  if (rec === undefined || parsed === null) return null;
  if (okCurrent) return { tenantId: rec.id, keyId: rec.token.keyId, grace: false };
  if (okPrev && prev !== undefined) return { tenantId: rec.id, keyId: prev.keyId, grace: true };
  return null;
}
