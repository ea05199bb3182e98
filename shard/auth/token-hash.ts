// Token digests: SHA-256 at rest, compared in constant time on equal-length digests (DESIGN §2).
import { createHash, timingSafeEqual } from 'node:crypto';

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** The id that may be logged for a credential: the first 8 hex of its SHA-256. */
export function keyIdOf(secretOrHash: string, isHash = false): string {
  return (isHash ? secretOrHash : sha256Hex(secretOrHash)).slice(0, 8);
}

/** Constant-time equality of two hex SHA-256 digests (always 32 bytes each). */
export function digestEquals(aHex: string, bHex: string): boolean {
  const a = Buffer.from(aHex, 'hex');
  const b = Buffer.from(bHex, 'hex');
  if (a.length !== 32 || b.length !== 32) return false;
  return timingSafeEqual(a, b);
}

/** A digest that matches nothing, compared against for unknown tenants so timing does not tell. */
export const DUMMY_DIGEST = sha256Hex('openclawmu:no-such-tenant');
