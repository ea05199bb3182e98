// The failed-authentication throttle, one decision for every path (core, Node fast path, WebSocket
// upgrades). It limits failing credentials, per client address and claimed identity, so forged
// tokens never reach (or wear down) a shard, and nobody else pays for them:
//   - health, readiness, metrics, webhooks and CORS preflights are never throttled nor counted;
//   - requests without a credential are not counted (there is nothing to guess);
//   - failures are counted per (client address, claimed identity: tenant id / admin / other), so
//     forged tokens for one tenant do not lock out other tenants or admins at the same address;
//   - a credential that authenticated within the window always passes, and a credential is dropped
//     from that set the moment it fails.
// Bounded memory, injected clock, no node: imports.
import { claimOf } from '../identity/credential.ts';

export interface AuthThrottleOptions {
  /** Failures allowed per subject and window before the subject is refused. */
  readonly limit?: number;
  readonly windowMs?: number;
  /** Subjects (and, separately, good credentials) remembered at most; oldest forgotten first. */
  readonly maxAddresses?: number;
  readonly now?: () => number;
}

/** What the throttle needs to know about a request, on any transport. */
export interface ThrottleRequest {
  readonly method: string;
  readonly pathname: string;
  /** The client address (after the trusted-proxy walk: client-address.ts). */
  readonly client: string;
  /** The presented credential (Authorization bearer, x-api-key, or a tk_ WebSocket protocol); null: none. */
  readonly credential: string | null;
}

/** A request the throttle watches: its subject key and the fingerprint of its credential. */
export interface ThrottleSubject {
  readonly key: string;
  readonly credential: string;
}

const NEVER_THROTTLED = new Set(['/healthz', '/readyz', '/metrics']);

/** The subject of a request, or null when the throttle never refuses nor counts it. */
export function throttleSubject(r: ThrottleRequest): ThrottleSubject | null {
  if (r.credential === null || r.method === 'OPTIONS') return null;
  if (NEVER_THROTTLED.has(r.pathname) || r.pathname.startsWith('/hooks/')) return null;
  return { key: `${r.client} ${claimOf(r.credential)}`, credential: credentialFingerprint(r.credential) };
}

export interface AuthThrottle {
  /** Seconds to wait when the subject is over the limit (0: go on). */
  blockedFor(subject: ThrottleSubject): number;
  /** A 401 for this subject (from a shard, or the router's own admin check). */
  recordFailure(subject: ThrottleSubject): void;
  /** The credential authenticated (any answer from a shard but 401). */
  recordSuccess(subject: ThrottleSubject): void;
  /** Subjects with failures in memory. */
  readonly size: number;
}

export function createAuthThrottle(opts: AuthThrottleOptions = {}): AuthThrottle {
  const limit = opts.limit ?? 20;
  const windowMs = opts.windowMs ?? 60_000;
  const maxEntries = opts.maxAddresses ?? 100_000;
  const now = opts.now ?? Date.now;
  const failures = new Map<string, { start: number; count: number }>();
  /** Credential fingerprint → when it last authenticated. */
  const good = new Map<string, number>();
  const bounded = <V>(m: Map<string, V>): void => {
    if (m.size > maxEntries) {
      const oldest = m.keys().next().value;
      if (oldest !== undefined) m.delete(oldest);
    }
  };
  return {
    blockedFor(subject) {
      const e = failures.get(subject.key);
      if (e === undefined) return 0;
      const t = now();
      if (t - e.start >= windowMs) {
        failures.delete(subject.key);
        return 0;
      }
      if (e.count < limit) return 0;
      const lastGood = good.get(subject.credential);
      if (lastGood !== undefined && t - lastGood < windowMs) return 0;
      return Math.max(1, Math.ceil((e.start + windowMs - t) / 1000));
    },
    recordFailure(subject) {
      good.delete(subject.credential);
      const t = now();
      const e = failures.get(subject.key);
      if (e === undefined || t - e.start >= windowMs) {
        failures.delete(subject.key);
        failures.set(subject.key, { start: t, count: 1 });
        bounded(failures);
      } else {
        e.count += 1;
      }
    },
    recordSuccess(subject) {
      const t = now();
      const last = good.get(subject.credential);
      // Refreshed at most twice a window: the common request costs one lookup.
      if (last !== undefined && t - last < windowMs / 2) return;
      good.delete(subject.credential);
      good.set(subject.credential, t);
      bounded(good);
    },
    get size() {
      return failures.size;
    },
  };
}

/**
 * A 64-bit fingerprint of a credential (two FNV-1a passes), so the throttle can remember which
 * credentials authenticated without keeping them. Not a secret-grade hash: a forged token that
 * happened to share a fingerprint would only reach a shard, be refused, and drop the fingerprint.
 */
export function credentialFingerprint(raw: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15);
  }
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
}
