// The channels feature's Prometheus metrics: bounded labels (platform, outcome), never a tenant or channel name.
import { Counter, Gauge, type Registry } from 'prom-client';

export interface ChannelMetrics {
  readonly ingress: Counter<'platform' | 'outcome'>;
  readonly egress: Counter<'platform' | 'outcome'>;
  readonly signatureFailures: Counter<'platform'>;
  readonly turnFailures: Counter<'platform'>;
}

export function createChannelMetrics(registry: Registry, connectorsRunning: () => number): ChannelMetrics {
  const ingress = new Counter({ name: 'openclawmu_channel_ingress_total', help: 'Channel events received, by platform and outcome (stored, duplicate)', labelNames: ['platform', 'outcome'], registers: [registry] });
  const egress = new Counter({
    name: 'openclawmu_channel_egress_total',
    help: 'Channel reply parts, by platform and outcome (sent, skipped, unknown_after_send, failed)',
    labelNames: ['platform', 'outcome'],
    registers: [registry],
  });
  const signatureFailures = new Counter({ name: 'openclawmu_channel_signature_failures_total', help: 'Webhook deliveries refused for a missing, stale or wrong signature', labelNames: ['platform'], registers: [registry] });
  const turnFailures = new Counter({ name: 'openclawmu_channel_turn_failures_total', help: 'Channel events whose agent turn failed', labelNames: ['platform'], registers: [registry] });
  new Gauge({
    name: 'openclawmu_channel_connectors_running',
    help: 'Polling and socket connectors running on this shard',
    registers: [registry],
    collect() {
      this.set(connectorsRunning());
    },
  });
  return { ingress, egress, signatureFailures, turnFailures };
}
