// Cron at scale (issue 14): 1,000 tenants × 10 jobs on one shard. One timer; RSS against the same shard
// with no jobs; fire lag (scheduled time → action start) at ~200 due jobs per second.
//   node --import tsx loadtest/cron-scale.ts [--tenants 1000] [--jobs 10] [--seconds 60]
// Each measurement runs in a fresh child process (`--expose-gc`) on the same data directory.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { defaultFeatures } from '../shard/app/features.ts';
import { createShardServices, type ShardServices } from '../shard/app/shard-services.ts';
import { parseShardConfig } from '../shard/config/shard-config.ts';
import { tenantContext } from '../shard/http/tenant-request.ts';
import { createLogger } from '../shard/observability/logger.ts';
import type { CronClock } from '../shard/cron/cron-clock.ts';
import { systemClock } from '../shard/cron/cron-clock.ts';
import { cronFeature, type CronServices } from '../shard/cron/cron-feature.ts';

const args = process.argv.slice(2);
const arg = (name: string, dflt: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const TENANTS = arg('tenants', 1000);
const JOBS = arg('jobs', 10);
const SECONDS = arg('seconds', 60);
const EVERY_S = 50; // 10,000 jobs every 50 s → 200 due per second
/** A fixed epoch for seeding: anchors T0 + i·(50 s / jobs), so fire times spread evenly over 50 s. */
const T0 = Date.parse('2030-01-01T00:00:00Z');

/** Real time shifted by an offset (set once the shard is up), or a fixed time while seeding. */
class ShiftedClock implements CronClock {
  fixed: number | null = null;
  offset = 0;
  timers = 0;
  now(): number {
    return this.fixed ?? Date.now() + this.offset;
  }
  setTimer(fn: () => void, ms: number): unknown {
    this.timers++;
    return systemClock.setTimer(() => {
      this.timers--;
      fn();
    }, ms);
  }
  clearTimer(h: unknown): void {
    this.timers--;
    systemClock.clearTimer(h);
  }
}

function open(dataDir: string, clock: ShiftedClock, onRun?: (lagMs: number) => void): { svc: ShardServices; cron: CronServices['cron'] } {
  const cron = cronFeature({
    clock,
    agent: async (ctx) => {
      onRun?.(clock.now() - ctx.scheduledAt);
      return { result: null };
    },
  });
  const config = parseShardConfig({
    id: 's1',
    port: 0,
    dataDir,
    logLevel: 'warn',
    features: { cron: { maxJobsPerTenant: JOBS, minIntervalSeconds: 10, maxConcurrentRuns: 256, maxConcurrentRunsPerTenant: JOBS, jitterSeconds: 0 } },
  });
  const log = createLogger({ level: 'warn', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
  const svc = createShardServices(config, { log, features: [...defaultFeatures.filter((f) => f.name !== 'cron'), cron], now: () => new Date(clock.now()) });
  const services = svc.features.find((b) => b.feature === cron)?.services as CronServices;
  return { svc, cron: services.cron };
}

function rssMb(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return Math.round(process.memoryUsage().rss / 1024 / 1024);
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

async function child(mode: string, dataDir: string): Promise<void> {
  const clock = new ShiftedClock();
  const lags: number[] = [];
  clock.fixed = T0 + EVERY_S * 1000 - 5000;
  const { svc, cron } = open(dataDir, clock, (lag) => lags.push(lag));
  const timersAtStart = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const idle = { rssMb: rssMb(), cronTimers: clock.timers, nodeTimeouts: timersAtStart, indexed: cron.index.count() };
  if (mode === 'idle') {
    await svc.close();
    process.stdout.write(`${JSON.stringify(idle)}\n`);
    return;
  }
  // Real time from here: the first fire times are due in ~5 s.
  clock.offset = clock.now() - Date.now();
  clock.fixed = null;
  cron.scheduler.poke();
  const started = clock.now();
  let peakRss = 0;
  let peakTimers = 0;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, Math.round(process.memoryUsage().rss / 1024 / 1024));
    peakTimers = Math.max(peakTimers, clock.timers);
  }, 250);
  await new Promise((ok) => setTimeout(ok, (SECONDS + 5) * 1000));
  clearInterval(sampler);
  const sorted = [...lags].sort((a, b) => a - b);
  const window = (clock.now() - started - 5000) / 1000;
  // The figures first: closing 1,000 open tenant databases on a loaded machine can take long.
  process.stdout.write(
    `${JSON.stringify({
      ...idle,
      runs: lags.length,
      runsPerSecond: Math.round(lags.length / window),
      lagMs: { p50: quantile(sorted, 0.5), p90: quantile(sorted, 0.9), p99: quantile(sorted, 0.99), max: sorted[sorted.length - 1] ?? NaN },
      peakRssMb: peakRss,
      peakSchedulerTimers: peakTimers,
      inflightAtEnd: cron.scheduler.inflight,
    })}\n`,
  );
  await cron.stop();
  await svc.close();
}

function measure(mode: string, dataDir: string): Record<string, unknown> {
  const res = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), '--child', mode, dataDir, ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
    timeout: (SECONDS + 600) * 1000,
    killSignal: 'SIGKILL',
  });
  const last = res.stdout.trim().split('\n').pop() ?? '';
  if (!last.startsWith('{')) throw new Error(`child ${mode} failed (${res.signal ?? res.status}): ${res.stderr}`);
  return { ...(JSON.parse(last) as Record<string, unknown>), ...(res.status === 0 ? {} : { closedCleanly: false }) };
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'ocmu-cron-scale-'));
  const dataDir = join(root, 'shard');
  try {
    const clock = new ShiftedClock();
    clock.fixed = T0;
    let t = performance.now();
    {
      const { svc } = open(dataDir, clock);
      for (let i = 0; i < TENANTS; i++) await svc.store.create({ id: `t${i}` }, { type: 'admin' });
      await svc.close();
    }
    const seedTenantsS = (performance.now() - t) / 1000;
    const baseline = measure('idle', dataDir);
    t = performance.now();
    {
      const { svc, cron } = open(dataDir, clock);
      const total = TENANTS * JOBS;
      for (let k = 0; k < total; k++) {
        const tenant = `t${k % TENANTS}`;
        clock.fixed = T0 + Math.floor((k * EVERY_S * 1000) / total);
        cron.add(tenantContext(svc, tenant, { type: 'admin' }, 'seed'), { name: `j${k}`, schedule: { every: `${EVERY_S}s` }, action: { type: 'agent', prompt: 'tick' }, missed: 'skip' });
      }
      await svc.close();
    }
    const seedJobsS = (performance.now() - t) / 1000;
    const withJobs = measure('fire', dataDir);
    const result = {
      at: new Date().toISOString(),
      tenants: TENANTS,
      jobsPerTenant: JOBS,
      seconds: SECONDS,
      seedSeconds: { tenants: Math.round(seedTenantsS), jobs: Math.round(seedJobsS) },
      baseline,
      withJobs,
      rssDeltaMb: (withJobs.rssMb as number) - (baseline.rssMb as number),
    };
    mkdirSync(join('loadtest', 'results'), { recursive: true });
    writeFileSync(join('loadtest', 'results', 'cron-scale.json'), `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const ci = args.indexOf('--child');
if (ci >= 0) await child(args[ci + 1] as string, args[ci + 2] as string);
else await main();
