// Per-tenant admission: a tenant's requests in flight (HTTP requests and WebSocket messages alike)
// are capped by limits.tenantConcurrentRequests, so one tenant cannot queue unbounded work on the shard.
import { AppError } from '../../router/errors/app-error.ts';

export class TenantAdmission {
  private readonly inflight = new Map<string, number>();
  private readonly max: number;

  constructor(max: number) {
    this.max = max;
  }

  /** Admits one request of the tenant or throws 429 QUOTA_CONCURRENT_REQUESTS; returns its release (idempotent). */
  admit(tenantId: string): () => void {
    const n = this.inflight.get(tenantId) ?? 0;
    if (n >= this.max) {
      throw new AppError('QUOTA_CONCURRENT_REQUESTS', {
        details: { limit: 'tenantConcurrentRequests', max: this.max, retryAfterSeconds: 1 },
        headers: { 'retry-after': '1' },
      });
    }
    this.inflight.set(tenantId, n + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const left = (this.inflight.get(tenantId) ?? 1) - 1;
      if (left <= 0) this.inflight.delete(tenantId);
      else this.inflight.set(tenantId, left);
    };
  }

  count(tenantId: string): number {
    return this.inflight.get(tenantId) ?? 0;
  }
}
