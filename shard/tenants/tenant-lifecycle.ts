// The shard's tenant lifecycle (DESIGN §11): owned tenants become resident on demand (databases
// open, features' onActive run) and leave residency through one path, deactivate(reason), which
// awaits every feature's onInactive before the databases are checkpointed and closed.
import type Database from 'better-sqlite3';
import type { InactiveReason, LifecycleHooks, LifecycleTenant } from '../app/shard-feature.ts';
import type { TenantDatabases } from './tenant-databases.ts';
import { pickEvictions, type ResidencyLimits } from './residency-policy.ts';

export type { InactiveReason, LifecycleHooks, LifecycleTenant } from '../app/shard-feature.ts';

/** Every reason, for metrics (a fixed, bounded label set). `idle` and `evicted` are evictions. */
const REASONS: Record<InactiveReason, true> = { idle: true, evicted: true, frozen: true, moved: true, deleted: true, replaced: true, shutdown: true };
export const INACTIVE_REASONS = Object.keys(REASONS) as InactiveReason[];

/** Held while a tenant's databases are in use; an eviction waits until every lease is released. */
export interface TenantLease {
  readonly tenantId: string;
  release(): void;
}

export interface TenantLifecycleDeps {
  readonly databases: TenantDatabases;
  readonly dirOf: (tenantId: string) => string;
  readonly limits: ResidencyLimits;
  readonly nowMs: () => number;
  readonly hooks?: readonly LifecycleHooks[];
  readonly onHookError?: (err: unknown, info: { tenantId: string; hook: string; phase: 'active' | 'inactive' }) => void;
  readonly onActivated?: (tenantId: string) => void;
  readonly onDeactivated?: (tenantId: string, reason: InactiveReason) => void;
}

interface Resident {
  readonly id: string;
  leases: number;
  lastUsedMs: number;
  /** Settles when every onActive hook has run. */
  activation: Promise<void>;
  /** Set while deactivating: later users wait for it, then activate afresh. */
  deactivation?: Promise<void>;
  leaseWaiters: Array<() => void>;
}

export class TenantLifecycle {
  private readonly deps: TenantLifecycleDeps;
  private readonly hooks: LifecycleHooks[];
  /** Resident tenants, least recently used first (a Map keeps insertion order; touch re-inserts). */
  private readonly resident = new Map<string, Resident>();
  private evicting = false;
  private evictAgain = false;

  constructor(deps: TenantLifecycleDeps) {
    this.deps = deps;
    this.hooks = [...(deps.hooks ?? [])];
  }

  /** Registers a feature's hooks (in order: onInactive runs in registration order). */
  addHook(hook: LifecycleHooks): () => void {
    this.hooks.push(hook);
    return () => {
      const i = this.hooks.indexOf(hook);
      if (i >= 0) this.hooks.splice(i, 1);
    };
  }

  residentCount(): number {
    return this.resident.size;
  }

  isResident(tenantId: string): boolean {
    const r = this.resident.get(tenantId);
    return r !== undefined && r.deactivation === undefined;
  }

  /** Makes the tenant resident (running onActive hooks once) and resolves when it is. */
  async activate(tenantId: string): Promise<void> {
    const r = await this.settle(tenantId);
    this.touch(r);
  }

  /**
   * Makes the tenant resident and holds it there until `release()`: a request's databases stay
   * open for the whole request. An eviction that raced ahead finishes first; then the tenant is
   * activated afresh, so the request is served, never handed a closed database.
   */
  async lease(tenantId: string): Promise<TenantLease> {
    const r = await this.settle(tenantId);
    r.leases++;
    this.touch(r);
    let released = false;
    return {
      tenantId,
      release: () => {
        if (released) return;
        released = true;
        r.leases--;
        r.lastUsedMs = this.deps.nowMs();
        if (r.leases === 0) for (const wake of r.leaseWaiters.splice(0)) wake();
      },
    };
  }

  /** state.db of the tenant; a tenant not yet resident becomes so (its onActive hooks run in the background). */
  stateDb(tenantId: string): Database.Database {
    this.ensureEntry(tenantId);
    return this.deps.databases.state(tenantId, this.deps.dirOf(tenantId));
  }

  memoryDb(tenantId: string): Database.Database {
    this.ensureEntry(tenantId);
    return this.deps.databases.memory(tenantId, this.deps.dirOf(tenantId));
  }

  /**
   * Ends the tenant's residency: awaits every hook's onInactive (in order), then checkpoints and
   * closes its databases. Evictions (`idle`, `evicted`) first wait for leases to end (they only pick
   * tenants without one); `frozen`, `moved`, `deleted`, `replaced` and `shutdown` do not (the
   * ownership gate has already drained or refused requests). Concurrent calls share one deactivation.
   */
  deactivate(tenantId: string, reason: InactiveReason): Promise<void> {
    const r = this.resident.get(tenantId);
    if (r === undefined) {
      // Not resident: nothing runs, but a database opened by other means still closes.
      this.deps.databases.close(tenantId);
      return Promise.resolve();
    }
    if (r.deactivation !== undefined) return r.deactivation;
    r.deactivation = (async () => {
      try {
        await r.activation;
        if (reason === 'idle' || reason === 'evicted') await this.leasesEnded(r);
        const tenant = this.tenantOf(tenantId);
        for (const hook of [...this.hooks]) {
          if (hook.onInactive === undefined) continue;
          try {
            await hook.onInactive(tenant, reason);
          } catch (err) {
            this.deps.onHookError?.(err, { tenantId, hook: hook.name, phase: 'inactive' });
          }
        }
      } finally {
        try {
          this.deps.databases.close(tenantId);
        } finally {
          if (this.resident.get(tenantId) === r) this.resident.delete(tenantId);
          this.deps.onDeactivated?.(tenantId, reason);
        }
      }
    })();
    return r.deactivation;
  }

  /** Deactivates every resident tenant (shutdown). */
  async deactivateAll(reason: InactiveReason): Promise<void> {
    for (const id of [...this.resident.keys()]) await this.deactivate(id, reason);
    this.deps.databases.closeAll();
  }

  /**
   * Evicts what the residency policy picks now: idle tenants, and the least recently used ones
   * over the bound. Called after each activation and by the shard's idle timer; one pass at a time.
   */
  async evict(): Promise<number> {
    if (this.evicting) {
      this.evictAgain = true;
      return 0;
    }
    this.evicting = true;
    let evicted = 0;
    try {
      do {
        this.evictAgain = false;
        const views = [];
        for (const r of this.resident.values()) {
          if (r.deactivation !== undefined) continue;
          views.push({ id: r.id, leases: r.leases, lastUsedMs: r.lastUsedMs, pinned: this.isPinned(r.id) });
        }
        const victims = pickEvictions(views, this.deps.nowMs(), this.deps.limits);
        for (const v of victims) await this.deactivate(v.id, v.reason);
        evicted += victims.length;
      } while (this.evictAgain);
      return evicted;
    } finally {
      this.evicting = false;
    }
  }

  /** Starts the idle sweep on an injected timer; returns its stop function. */
  startIdleSweep(every: (ms: number, fn: () => void) => () => void): () => void {
    const period = Math.max(1000, Math.min(60_000, (this.deps.limits.idleSeconds * 1000) / 4));
    return every(period, () => void this.evict());
  }

  private isPinned(tenantId: string): boolean {
    const pinning = this.hooks.filter((h) => h.pinsResidency !== undefined);
    if (pinning.length === 0) return false;
    const tenant = this.tenantOf(tenantId);
    return pinning.some((h) => h.pinsResidency?.(tenant) === true);
  }

  /** Waits out a deactivation in progress, then returns the (possibly new) resident entry, activated. */
  private async settle(tenantId: string): Promise<Resident> {
    for (;;) {
      const r = this.resident.get(tenantId);
      if (r?.deactivation !== undefined) {
        await r.deactivation;
        continue;
      }
      const entry = this.ensureEntry(tenantId);
      await entry.activation;
      if (entry.deactivation === undefined && this.resident.get(tenantId) === entry) return entry;
    }
  }

  private ensureEntry(tenantId: string): Resident {
    const existing = this.resident.get(tenantId);
    if (existing !== undefined) return existing;
    const r: Resident = { id: tenantId, leases: 0, lastUsedMs: this.deps.nowMs(), activation: Promise.resolve(), leaseWaiters: [] };
    this.resident.set(tenantId, r);
    r.activation = this.runActiveHooks(tenantId);
    this.deps.onActivated?.(tenantId);
    void r.activation.then(() => this.evict());
    return r;
  }

  private async runActiveHooks(tenantId: string): Promise<void> {
    if (!this.hooks.some((h) => h.onActive !== undefined)) return;
    const tenant = this.tenantOf(tenantId);
    for (const hook of [...this.hooks]) {
      if (hook.onActive === undefined) continue;
      try {
        await hook.onActive(tenant);
      } catch (err) {
        this.deps.onHookError?.(err, { tenantId, hook: hook.name, phase: 'active' });
      }
    }
  }

  private tenantOf(tenantId: string): LifecycleTenant {
    return { id: tenantId, dir: this.deps.dirOf(tenantId) };
  }

  private touch(r: Resident): void {
    r.lastUsedMs = this.deps.nowMs();
    if (this.resident.get(r.id) === r) {
      this.resident.delete(r.id);
      this.resident.set(r.id, r);
    }
  }

  private leasesEnded(r: Resident): Promise<void> {
    if (r.leases === 0) return Promise.resolve();
    return new Promise((resolve) => r.leaseWaiters.push(resolve));
  }
}
