// The router's Prometheus metrics (one registry per router): upstream latency/errors per shard, retries, holds, manifest.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { collectProcessMetrics } from './process-metrics.ts';
import type { ErrorCode } from '../errors/codes.ts';
import type { RouterObserver } from '../core/forward-to-owner.ts';
import type { ManifestStatus } from '../manifest/manifest-poller.ts';

const MAX_SHARD_LABELS = 256;

export interface RouterMetrics {
  readonly registry: Registry;
  readonly observer: RouterObserver;
  request(status: number, seconds: number): void;
  wsUpgrade(outcome: 'piped' | 'refused' | 'failed'): void;
  /** Which path a request took: the Node fast path, the core, or the fast path handing over to the core. */
  path(kind: 'fast' | 'core' | 'handed-over'): void;
}

/** A counter that follows a running total kept elsewhere (it only ever grows). */
function countFrom(registry: Registry, name: string, help: string, total: () => number): void {
  let seen = 0;
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const now = total();
      if (now > seen) this.inc(now - seen);
      seen = Math.max(seen, now);
    },
  });
}

export function createRouterMetrics(manifestStatus: () => ManifestStatus, now: () => number = Date.now): RouterMetrics {
  const registry = new Registry();
  // process_* and nodejs_* (CPU, memory, event-loop lag, GC, handles).
  collectProcessMetrics(registry);
  const shardLabels = new Set<string>();
  // Shard ids come from the manifest, so they are bounded; cap them anyway.
  const shardLabel = (id: string): string => {
    if (shardLabels.has(id)) return id;
    if (shardLabels.size >= MAX_SHARD_LABELS) return 'other';
    shardLabels.add(id);
    return id;
  };
  const statusClass = (s: number): string => `${Math.floor(s / 100)}xx`;

  const requests = new Histogram({
    name: 'openclawmu_router_request_duration_seconds',
    help: 'Time from request to response headers at the router, by status class.',
    labelNames: ['status_class'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const upstream = new Histogram({
    name: 'openclawmu_router_upstream_duration_seconds',
    help: 'Time to the upstream response headers, per shard.',
    labelNames: ['shard', 'status_class'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const upstreamErrors = new Counter({ name: 'openclawmu_router_upstream_errors_total', help: 'Upstream failures (no response), per shard and code.', labelNames: ['shard', 'code'], registers: [registry] });
  const retries = new Counter({ name: 'openclawmu_router_retries_total', help: 'Requests retried: misdirected (421) or frozen (503 hold started).', labelNames: ['reason'], registers: [registry] });
  const holds = new Counter({ name: 'openclawmu_router_holds_total', help: 'Held requests by outcome: released, expired, abandoned (the client left).', labelNames: ['outcome'], registers: [registry] });
  const throttled = new Counter({ name: 'openclawmu_router_auth_throttled_total', help: 'Requests refused with 429 after repeated auth failures from one address.', registers: [registry] });
  const paths = new Counter({ name: 'openclawmu_router_path_total', help: 'Requests by router path: fast (Node fast path), core, handed-over (fast path → core after a 421 or 503-frozen).', labelNames: ['path'], registers: [registry] });
  const pathChildren = { fast: paths.labels('fast'), core: paths.labels('core'), 'handed-over': paths.labels('handed-over') };
  const ws = new Counter({ name: 'openclawmu_router_ws_upgrades_total', help: 'WebSocket upgrades by outcome.', labelNames: ['outcome'], registers: [registry] });
  new Gauge({
    name: 'openclawmu_router_manifest_version',
    help: 'Version of the manifest this router holds (-1: none).',
    registers: [registry],
    collect() {
      this.set(manifestStatus().version ?? -1);
    },
  });
  new Gauge({
    name: 'openclawmu_router_manifest_age_seconds',
    help: 'Seconds since the manifest source last confirmed the copy held (-1: never).',
    registers: [registry],
    collect() {
      const at = manifestStatus().confirmedAt;
      this.set(at === null ? -1 : (now() - at) / 1000);
    },
  });
  // The poller keeps running totals; these counters catch up with them at each scrape.
  countFrom(registry, 'openclawmu_router_manifest_invalid_total', 'Manifest reads refused as invalid (the last good copy was kept).', () => manifestStatus().invalidTotal);
  countFrom(registry, 'openclawmu_router_manifest_unreachable_total', 'Manifest reads that failed to reach the source (the last good copy was kept).', () => manifestStatus().unreachableTotal);

  // Label lookups hash their values on every call: keep the children (bounded: shards × 5 classes).
  const upstreamChildren = new Map<string, { observe(v: number): void }>();
  const requestChildren = new Map<number, { observe(v: number): void }>();
  const observer: RouterObserver = {
    upstream: (shard, status, seconds) => {
      const key = `${shard}\u0000${Math.floor(status / 100)}`;
      let child = upstreamChildren.get(key);
      if (child === undefined) {
        child = upstream.labels(shardLabel(shard), statusClass(status));
        if (upstreamChildren.size < MAX_SHARD_LABELS * 8) upstreamChildren.set(key, child);
      }
      child.observe(seconds);
    },
    upstreamError: (shard, code: ErrorCode) => upstreamErrors.labels(shardLabel(shard), code).inc(),
    retry: (reason) => retries.labels(reason).inc(),
    hold: (outcome) => holds.labels(outcome).inc(),
    authThrottled: () => throttled.inc(),
  };
  return {
    registry,
    observer,
    request: (status, seconds) => {
      const cls = Math.floor(status / 100);
      let child = requestChildren.get(cls);
      if (child === undefined) {
        child = requests.labels(statusClass(status));
        requestChildren.set(cls, child);
      }
      child.observe(seconds);
    },
    wsUpgrade: (outcome) => ws.labels(outcome).inc(),
    path: (kind) => pathChildren[kind].inc(),
  };
}
