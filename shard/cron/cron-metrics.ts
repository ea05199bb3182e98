// Cron's Prometheus metrics: runs by outcome, missed times, lag from due to start (no tenant labels).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface CronMetrics {
  readonly runs: Counter<'outcome'>;
  readonly missed: Counter;
  readonly lag: Histogram;
}

export function createCronMetrics(registry: Registry, indexed: () => number): CronMetrics {
  const runs = new Counter({
    name: 'openclawmu_cron_runs_total',
    help: 'Cron runs by outcome (ok, error, interrupted)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const missed = new Counter({
    name: 'openclawmu_cron_missed_total',
    help: 'Scheduled cron times let go by a missed policy (skip, once, catchup beyond its cap or window)',
    registers: [registry],
  });
  const lag = new Histogram({
    name: 'openclawmu_cron_lag_seconds',
    help: 'Delay from a scheduled run being due (time plus jitter) to its start',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [registry],
  });
  new Gauge({
    name: 'openclawmu_cron_jobs_indexed',
    help: 'Enabled cron jobs with a next fire time in the shard index',
    registers: [registry],
    collect() {
      this.set(indexed());
    },
  });
  return { runs, missed, lag };
}
