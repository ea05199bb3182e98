// The open WebSockets of each tenant, so that freezing, moving or deleting a tenant ends them
// (clients reconnect, through the router, to wherever the tenant lives next).
export interface ClosableSocket {
  close(code: number, reason: string): void;
}

export class TenantSockets {
  private readonly byTenant = new Map<string, Set<ClosableSocket>>();

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

  /** Closes every socket of the tenant with 1012 (service restart: reconnect). */
  close(tenantId: string, reason: string): void {
    for (const ws of this.byTenant.get(tenantId) ?? []) ws.close(1012, reason.slice(0, 100));
  }

  all(): ClosableSocket[] {
    return [...this.byTenant.values()].flatMap((s) => [...s]);
  }
}
