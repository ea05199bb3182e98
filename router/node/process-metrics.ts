// The process_* and nodejs_* metrics (prom-client's defaults) on a registry, minus three that break
// Prometheus naming: prom-client exposes the gauges nodejs_active_{handles,requests,resources}_total,
// and `_total` is for counters (promtool check metrics). Their per-type gauges without the suffix stay.
import { collectDefaultMetrics, type Registry } from 'prom-client';

const MISNAMED = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

export function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  for (const name of MISNAMED) if (registry.getSingleMetric(name) !== undefined) registry.removeSingleMetric(name);
}
