// Admin-key checks for the router's own fleet-wide routes: SHA-256 via WebCrypto, constant-time compare.
import { bearerOf, isAdminKeyShape } from '../identity/tenant-id.ts';

export type AdminAuthResult = 'ok' | 'missing' | 'invalid' | 'forbidden';

export interface AdminAuth {
  check(authorization: string | null): Promise<AdminAuthResult>;
}

export function createAdminAuth(adminKeyHashes: readonly string[]): AdminAuth {
  const wanted = adminKeyHashes.map(hexToBytes).filter((b): b is Uint8Array => b !== null && b.length === 32);
  const dummy = new Uint8Array(32);
  return {
    async check(authorization) {
      const bearer = bearerOf(authorization);
      if (bearer === null) return 'missing';
      // Always hash and compare against every configured key (or a dummy), so timing says nothing.
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(bearer)));
      let match = false;
      for (const w of wanted.length > 0 ? wanted : [dummy]) match = constantTimeEqual(digest, w) || match;
      if (match && wanted.length > 0 && isAdminKeyShape(bearer)) return 'ok';
      return bearer.startsWith('tk_') ? 'forbidden' : 'invalid';
    },
  };
}

export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

function hexToBytes(hex: string): Uint8Array | null {
  if (!/^[0-9a-f]*$/.test(hex) || hex.length % 2 !== 0) return null;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}
