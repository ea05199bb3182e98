// The shard's Prometheus metrics (one registry per app instance; no tenant-id labels).
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { INACTIVE_REASONS } from '../tenants/tenant-lifecycle.ts';

export interface ShardMetrics {
  readonly registry: Registry;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly authFailures: Counter<'kind'>;
  readonly rpcCalls: Counter<'method' | 'outcome'>;
  readonly wsConnections: Gauge;
  /** Tenants made resident (databases opened, onActive hooks run). */
  readonly activations: Counter;
  /** Tenants that left residency, by reason (a fixed set: idle, evicted, frozen, moved, deleted, replaced, shutdown). */
  readonly deactivations: Counter<'reason'>;
}

export interface ShardGauges {
  tenantsOwned: () => number;
  inflight: () => number;
  tenantsResident: () => number;
  databasesOpen: () => number;
}

export function createShardMetrics(opts: ShardGauges): ShardMetrics {
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
  new Gauge({
    name: 'openclawmu_tenants_resident',
    help: 'Tenants resident now (databases open, features active); bounded by limits.residentTenants unless pinned or in use',
    registers: [registry],
    collect() {
      this.set(opts.tenantsResident());
    },
  });
  new Gauge({
    name: 'openclawmu_tenant_databases_open',
    help: 'Open tenant SQLite connections (each holds 3 descriptors: the file, -wal, -shm)',
    registers: [registry],
    collect() {
      this.set(opts.databasesOpen());
    },
  });
  const activations = new Counter({ name: 'openclawmu_tenant_activations_total', help: 'Tenants made resident', registers: [registry] });
  const deactivations = new Counter<'reason'>({
    name: 'openclawmu_tenant_deactivations_total',
    help: 'Tenants that left residency, by reason (idle and evicted are evictions)',
    labelNames: ['reason'],
    registers: [registry],
  });
  // Every reason is present from the start, so rate() works before the first eviction.
  for (const reason of INACTIVE_REASONS) deactivations.inc({ reason }, 0);
  return { registry, httpDuration, authFailures, rpcCalls, wsConnections, activations, deactivations };
}
