// Which resident tenants to evict, and why: a pure decision over plain data (DESIGN §11).

export interface ResidentView {
  readonly id: string;
  /** Requests (and other users) holding the tenant resident right now. */
  readonly leases: number;
  /** When the last lease ended or the tenant was last touched, in ms. */
  readonly lastUsedMs: number;
  /** A feature keeps it resident (a polling connector, a running job). */
  readonly pinned: boolean;
}

export interface ResidencyLimits {
  /** At most this many tenants resident; the least recently used unpinned ones go first. */
  readonly residentTenants: number;
  /** A tenant unused this long is evicted even below the bound. */
  readonly idleSeconds: number;
}

/** `evicted`: pushed out by the bound (LRU pressure). Both are InactiveReasons of the lifecycle. */
export type EvictionReason = 'idle' | 'evicted';

/**
 * `resident` is in least-recently-used order (oldest first). Returns the tenants to evict: every
 * idle one, then as many of the oldest as it takes to get back under the bound. A tenant with a
 * lease or a pin is never chosen, so the bound can be exceeded while they hold.
 */
export function pickEvictions(resident: readonly ResidentView[], nowMs: number, limits: ResidencyLimits): { id: string; reason: EvictionReason }[] {
  const out: { id: string; reason: EvictionReason }[] = [];
  const idleBefore = nowMs - limits.idleSeconds * 1000;
  let over = resident.length - limits.residentTenants;
  for (const r of resident) {
    if (r.leases > 0 || r.pinned) continue;
    if (r.lastUsedMs <= idleBefore) {
      out.push({ id: r.id, reason: 'idle' });
      over--;
    } else if (over > 0) {
      out.push({ id: r.id, reason: 'evicted' });
      over--;
    }
  }
  return out;
}
