// The open WebSockets of each tenant, so that freezing, moving or deleting a tenant ends them
// (clients reconnect, through the router, to wherever the tenant lives next).
import { AsyncLocalStorage } from 'node:async_hooks';

export interface ClosableSocket {
  close(code: number, reason: string): void;
}

/** The socket whose message is being handled, and the close it asked for meanwhile. */
interface Serving {
  ws: ClosableSocket;
  closeReason?: string;
}

export class TenantSockets {
  private readonly byTenant = new Map<string, Set<ClosableSocket>>();
  /** Upgrades admitted but not yet open (the handshake is asynchronous), per tenant. */
  private readonly opening = new Map<string, number>();
  private readonly serving = new AsyncLocalStorage<Serving>();
  private inflight = 0;
  private readonly idleWaiters: (() => void)[] = [];

  /**
   * Takes a place for one more socket of the tenant if it has fewer than `max` open or opening;
   * returns the function that gives the place back once the socket is added (or the upgrade failed),
   * or null when the tenant is at its limit.
   */
  tryReserve(tenantId: string, max: number): (() => void) | null {
    const opening = this.opening.get(tenantId) ?? 0;
    if ((this.byTenant.get(tenantId)?.size ?? 0) + opening >= max) return null;
    this.opening.set(tenantId, opening + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const n = (this.opening.get(tenantId) ?? 1) - 1;
      if (n <= 0) this.opening.delete(tenantId);
      else this.opening.set(tenantId, n);
    };
  }

  count(tenantId: string): number {
    return this.byTenant.get(tenantId)?.size ?? 0;
  }

  add(tenantId: string, ws: ClosableSocket): void {
    let set = this.byTenant.get(tenantId);
    if (set === undefined) this.byTenant.set(tenantId, (set = new Set()));
    set.add(ws);
  }

  remove(tenantId: string, ws: ClosableSocket): void {
    const set = this.byTenant.get(tenantId);
    set?.delete(ws);
    if (set?.size === 0) this.byTenant.delete(tenantId);
  }

  /**
   * Handles one message of `ws` (`handle` writes its reply). When the message itself ends the
   * tenant's sockets (a tenant deleting itself), `ws` is closed only after the reply went out,
   * so the caller learns the outcome; the tenant's other sockets close at once.
   */
  async serve(ws: ClosableSocket, handle: () => Promise<void>): Promise<void> {
    const serving: Serving = { ws };
    this.inflight += 1;
    try {
      await this.serving.run(serving, handle);
    } finally {
      if (serving.closeReason !== undefined) ws.close(1012, serving.closeReason);
      this.inflight -= 1;
      if (this.inflight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  /** Resolves once no message is being handled (shutdown waits for this before closing the databases). */
  idle(): Promise<void> {
    return this.inflight === 0 ? Promise.resolve() : new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Closes every socket of the tenant with 1012 (service restart: reconnect). */
  close(tenantId: string, reason: string): void {
    const serving = this.serving.getStore();
    for (const ws of this.byTenant.get(tenantId) ?? []) {
      if (serving?.ws === ws) serving.closeReason = reason.slice(0, 100);
      else ws.close(1012, reason.slice(0, 100));
    }
  }

  all(): ClosableSocket[] {
    return [...this.byTenant.values()].flatMap((s) => [...s]);
  }
}
