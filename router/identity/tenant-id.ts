// Tenant ids and tokens: the formats of DESIGN §2, parsed with one anchored regex each (never split('_')).
import { AppError } from '../errors/app-error.ts';

/** The shape of a tenant id (DESIGN §2); every pattern that embeds a tenant id is built from it. */
export const TENANT_ID_SHAPE = '[a-z0-9][a-z0-9_-]{0,31}';
export const TENANT_ID_RULE = `^${TENANT_ID_SHAPE}$`;
export const TENANT_ID_PATTERN = new RegExp(TENANT_ID_RULE);
/** Shard ids have the tenant id's shape (they appear in the same headers and keys). */
export const SHARD_ID_RULE = TENANT_ID_RULE;
export const SHARD_ID_PATTERN = new RegExp(SHARD_ID_RULE);
const TOKEN_PATTERN = new RegExp(`^tk_(${TENANT_ID_SHAPE})_([0-9a-f]{32})$`);
const ADMIN_KEY_PATTERN = /^ak_[0-9a-f]{32}$/;
/** How configs hold admin keys: their SHA-256, hex. */
export const ADMIN_KEY_HASH_PATTERN = /^[0-9a-f]{64}$/;
export const ADMIN_KEY_HASH_RULE = 'an admin key hash is 64 lowercase hex (sha256 of ak_...)';

export function isTenantId(value: unknown): value is string {
  return typeof value === 'string' && TENANT_ID_PATTERN.test(value);
}

export function assertTenantId(value: unknown): string {
  if (!isTenantId(value)) {
    throw new AppError('SHARD_TENANT_ID_INVALID', { details: { rule: TENANT_ID_RULE } });
  }
  return value;
}

export interface ParsedToken {
  readonly tenantId: string;
  readonly secret: string;
}

/** Parses `tk_<tenantId>_<32 hex>`; null when the string is not shaped like a tenant token. */
export function parseTenantToken(token: string): ParsedToken | null {
  const m = TOKEN_PATTERN.exec(token);
  if (m === null) return null;
  return { tenantId: m[1] as string, secret: m[2] as string };
}

export function formatTenantToken(tenantId: string, secret: string): string {
  return `tk_${tenantId}_${secret}`;
}

export function isAdminKeyShape(value: string): boolean {
  return ADMIN_KEY_PATTERN.test(value);
}

function randomHex(bytes: number): string {
  const buf = new Uint8Array(bytes);
  crypto.getRandomValues(buf);
  let out = '';
  for (const b of buf) out += b.toString(16).padStart(2, '0');
  return out;
}

/** A fresh tenant token with 128 random bits. */
export function mintTenantToken(tenantId: string): string {
  return formatTenantToken(assertTenantId(tenantId), randomHex(16));
}

export function mintAdminKey(): string {
  return `ak_${randomHex(16)}`;
}

/** Reads `Authorization: Bearer <x>`; null when absent or not a bearer credential. */
export function bearerOf(header: string | null | undefined): string | null {
  if (header === null || header === undefined) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m === null ? null : (m[1] as string);
}
