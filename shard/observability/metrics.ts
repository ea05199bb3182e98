// The shard's Prometheus metrics (one registry per app instance; no tenant-id labels).
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface ShardMetrics {
  readonly registry: Registry;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly authFailures: Counter<'kind'>;
  readonly rpcCalls: Counter<'method' | 'outcome'>;
  readonly wsConnections: Gauge;
}

export function createShardMetrics(opts: { tenantsOwned: () => number; inflight: () => number }): ShardMetrics {
  const registry = new Registry();
  const httpDuration = new Histogram({
    name: 'openclawmu_http_request_duration_seconds',
    help: 'HTTP request duration by route template and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const authFailures = new Counter({
    name: 'openclawmu_auth_failures_total',
    help: 'Refused credentials by kind (missing, invalid, forbidden, disabled)',
    labelNames: ['kind'],
    registers: [registry],
  });
  const rpcCalls = new Counter({
    name: 'openclawmu_rpc_calls_total',
    help: 'JSON-RPC calls by method (registered names only) and outcome',
    labelNames: ['method', 'outcome'],
    registers: [registry],
  });
  const wsConnections = new Gauge({ name: 'openclawmu_ws_connections', help: 'Open tenant WebSocket connections', registers: [registry] });
  new Gauge({
    name: 'openclawmu_tenants_owned',
    help: 'Tenants this shard owns (owned or frozen)',
    registers: [registry],
    collect() {
      this.set(opts.tenantsOwned());
    },
  });
  new Gauge({
    name: 'openclawmu_tenant_requests_inflight',
    help: 'Tenant-scoped requests in flight',
    registers: [registry],
    collect() {
      this.set(opts.inflight());
    },
  });
  return { registry, httpDuration, authFailures, rpcCalls, wsConnections };
}
