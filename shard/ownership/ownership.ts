// Who owns a tenant here: OWNED(epoch) | FROZEN(epoch) | MOVED(owner, epoch), and the one gate
// every tenant-scoped request passes (DESIGN §5). Tracks in-flight requests so a freeze can drain.
import { AppError } from '../../router/errors/app-error.ts';

export type OwnershipState =
  | { kind: 'owned'; epoch: number }
  | { kind: 'frozen'; epoch: number }
  | { kind: 'moved'; owner: string; epoch: number };

interface Entry {
  state: OwnershipState;
  inflight: number;
  drainWaiters: Array<() => void>;
  /** The tenant was deleted while requests were in flight: drop the entry when they end. */
  forgotten?: boolean;
}

export class Ownership {
  private readonly entries = new Map<string, Entry>();
  private readonly retryAfterSeconds: number;

  constructor(opts: { frozenRetryAfterSeconds: number }) {
    this.retryAfterSeconds = opts.frozenRetryAfterSeconds;
  }

  set(tenantId: string, state: OwnershipState): void {
    const e = this.entries.get(tenantId);
    if (e === undefined) this.entries.set(tenantId, { state, inflight: 0, drainWaiters: [] });
    else {
      e.state = state;
      e.forgotten = false;
    }
  }

  get(tenantId: string): OwnershipState | undefined {
    const e = this.entries.get(tenantId);
    return e === undefined || e.forgotten === true ? undefined : e.state;
  }

  /** The tenant no longer exists here (deleted): it becomes unknown, as if never created. */
  forget(tenantId: string): void {
    const e = this.entries.get(tenantId);
    if (e === undefined) return;
    if (e.inflight === 0) this.entries.delete(tenantId);
    else e.forgotten = true;
  }

  ownedCount(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.state.kind !== 'moved' && e.forgotten !== true) n++;
    return n;
  }

  /**
   * The gate: refuses a tenant that is moved (421 + owner/epoch headers) or frozen (503 +
   * Retry-After + x-openclawmu-frozen); for an owned tenant it counts the request in flight and
   * returns the release function. Unknown tenants pass (`null`) so auth can answer 401/404.
   */
  enter(tenantId: string): (() => void) | null {
    const e = this.entries.get(tenantId);
    if (e === undefined || e.forgotten === true) return null;
    this.refuseIfNotOwned(e.state);
    e.inflight++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      e.inflight--;
      if (e.inflight === 0) {
        const waiters = e.drainWaiters.splice(0);
        for (const w of waiters) w();
        if (e.forgotten === true && this.entries.get(tenantId) === e) this.entries.delete(tenantId);
      }
    };
  }

  /** Throws the refusal for a non-owned state; returns for owned. */
  refuseIfNotOwned(state: OwnershipState): void {
    switch (state.kind) {
      case 'owned':
        return;
      case 'frozen':
        throw new AppError('SHARD_TENANT_FROZEN', {
          headers: { 'retry-after': String(this.retryAfterSeconds), 'x-openclawmu-frozen': '1', 'x-openclawmu-epoch': String(state.epoch) },
        });
      case 'moved': {
        const headers: Record<string, string> = { 'x-openclawmu-epoch': String(state.epoch) };
        if (state.owner !== '') headers['x-openclawmu-owner'] = state.owner;
        throw new AppError('SHARD_TENANT_MOVED', { headers, details: state.owner === '' ? {} : { owner: state.owner, epoch: state.epoch } });
      }
    }
  }

  inflight(tenantId: string): number {
    return this.entries.get(tenantId)?.inflight ?? 0;
  }

  /** Resolves when the tenant has no request in flight (or after timeoutMs, returning false). */
  async drain(tenantId: string, timeoutMs: number): Promise<boolean> {
    const e = this.entries.get(tenantId);
    if (e === undefined || e.inflight === 0) return true;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        const i = e.drainWaiters.indexOf(done);
        if (i >= 0) e.drainWaiters.splice(i, 1);
        resolve(false);
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      e.drainWaiters.push(done);
    });
  }

  totalInflight(): number {
    let n = 0;
    for (const e of this.entries.values()) n += e.inflight;
    return n;
  }
}
