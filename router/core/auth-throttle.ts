// Per-client-address count of failed authentications: past the limit the router answers 429 itself,
// so forged tokens never reach (or wear down) a shard. Bounded memory, injected clock.
export interface AuthThrottleOptions {
  /** Failures allowed per window before the address is refused. */
  readonly limit?: number;
  readonly windowMs?: number;
  /** Addresses remembered at most (oldest forgotten first). */
  readonly maxAddresses?: number;
  readonly now?: () => number;
}

export interface AuthThrottle {
  /** Seconds to wait when the address is over the limit; 0 when it may proceed. */
  blockedFor(address: string): number;
  recordFailure(address: string): void;
  readonly size: number;
}

export function createAuthThrottle(opts: AuthThrottleOptions = {}): AuthThrottle {
  const limit = opts.limit ?? 20;
  const windowMs = opts.windowMs ?? 60_000;
  const maxAddresses = opts.maxAddresses ?? 100_000;
  const now = opts.now ?? Date.now;
  const entries = new Map<string, { start: number; count: number }>();
  return {
    blockedFor(address) {
      const e = entries.get(address);
      if (e === undefined) return 0;
      const t = now();
      if (t - e.start >= windowMs) {
        entries.delete(address);
        return 0;
      }
      return e.count >= limit ? Math.max(1, Math.ceil((e.start + windowMs - t) / 1000)) : 0;
    },
    recordFailure(address) {
      const t = now();
      const e = entries.get(address);
      if (e === undefined || t - e.start >= windowMs) {
        entries.delete(address);
        entries.set(address, { start: t, count: 1 });
        if (entries.size > maxAddresses) {
          const oldest = entries.keys().next().value;
          if (oldest !== undefined) entries.delete(oldest);
        }
      } else {
        e.count += 1;
      }
    },
    get size() {
      return entries.size;
    },
  };
}
