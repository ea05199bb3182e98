// Router overhead (issue 3), side by side in one invocation against one real shard (POST /rpc `health`:
// token auth, ownership gate, JSON-RPC): client → shard directly, client → our router → shard,
// client → HAProxy (Debian package, `balance hdr(authorization)` + `hash-type consistent`) → shard, and
// client → a bare Node proxy → shard. Per round and target: max throughput (autocannon, closed loop)
// and latency at a fixed rate (lib/fixed-rate-client.mjs: open loop, µs precision), each with the CPU
// the proxy and the shard spent per request (/proc/<pid>/stat). --pin gives every proxy exactly one
// core: proxies on CPU 1, shard and load generators on CPU 0.
// Run: node --import tsx loadtest/router-overhead.ts [--duration 8] [--connections 32] [--rate 500]
//        [--rate-duration 20] [--rounds 3] [--warmup 10] [--pin]
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import type { FleetChild } from '../ops/dev/child-process.ts';
import { ChildOwner, runJsonChild } from './lib/load-child.ts';
import { summarize, type Row, type Summary } from './lib/overhead-summary.ts';
import { LOAD_CPU, PROXY_CPU, startTargets, type Target } from './lib/overhead-targets.ts';
import { clockTicksPerSecond, cpuTimeUs, pinToCpu } from './lib/proc-cpu.ts';

const Options = z.object({
  duration: z.coerce.number().positive().default(8),
  connections: z.coerce.number().int().positive().default(32),
  rate: z.coerce.number().positive().default(500),
  'rate-duration': z.coerce.number().positive().default(20),
  rounds: z.coerce.number().int().positive().default(3),
  warmup: z.coerce.number().nonnegative().default(10),
  pin: z.boolean().default(false),
});
type Options = z.infer<typeof Options>;

const USAGE = 'usage: node --import tsx loadtest/router-overhead.ts [--duration 8] [--connections 32] [--rate 500] [--rate-duration 20] [--rounds 3] [--warmup 10] [--pin]';
const RATE_CONNECTIONS = 10;
const RATE_CLIENT_WARMUP_S = 1;
const ROOT = new URL('..', import.meta.url).pathname;
const FIXED_RATE_CLIENT = new URL('./lib/fixed-rate-client.mjs', import.meta.url).pathname;
const AUTOCANNON_CHILD = new URL('./lib/autocannon-child.mjs', import.meta.url).pathname;

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  durationS: number;
  clientCpuUs: number;
}

interface FixedRateResult {
  ok: number;
  non2xx: number;
  errors: number;
  p50: number | null;
  p99: number | null;
  p999: number | null;
  achievedRate: number;
  sendLagP99: number | null;
  completedWithWarmup: number;
  clientCpuUs: number;
}

/** Exits with an install hint when a required command is missing; returns its output otherwise. */
function requireCommand(cmd: string, args: string[], install: string): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) {
    console.error(`router-overhead: \`${cmd}\` is not installed (${(r.error as NodeJS.ErrnoException).code ?? r.error.message}). Install it with: ${install}`);
    process.exit(1);
  }
  return `${r.stdout}${r.stderr}`;
}

/** What a load run reports; `servedRequests` includes the load generator's own warm-up, if any. */
type LoadRun = Omit<Row, 'target' | 'label' | 'proxyCpuUsPerReq' | 'proxyCores' | 'shardCpuUsPerReq' | 'shardCores' | 'clientCpuUsPerReq'> & { servedRequests: number; clientCpuUs: number };

/** Runs one load and charges the proxy's and the shard's CPU over it to the requests they served. */
async function measured(t: Target, shardPid: number, run: () => Promise<LoadRun>): Promise<Row> {
  const proxy0 = t.proxyPid === undefined ? 0 : cpuTimeUs(t.proxyPid);
  const shard0 = cpuTimeUs(shardPid);
  const { servedRequests, clientCpuUs, ...r } = await run();
  const proxyUs = t.proxyPid === undefined ? null : cpuTimeUs(t.proxyPid) - proxy0;
  const shardUs = cpuTimeUs(shardPid) - shard0;
  const per = (us: number): number => (servedRequests > 0 ? us / servedRequests : NaN);
  return {
    ...r,
    target: t.key,
    label: t.label,
    proxyCpuUsPerReq: proxyUs === null ? null : per(proxyUs),
    proxyCores: proxyUs === null ? null : proxyUs / 1e6 / r.wallS,
    shardCpuUsPerReq: per(shardUs),
    shardCores: shardUs / 1e6 / r.wallS,
    clientCpuUsPerReq: per(clientCpuUs),
  };
}

function describe(r: Row): string {
  const lat = r.mode === 'max' ? `p50 ${r.p50} ms  p99 ${r.p99} ms` : `p50 ${r.p50.toFixed(3)}  p99 ${r.p99.toFixed(3)}  p99.9 ${r.p999?.toFixed(3) ?? '-'} ms`;
  const proxy = r.proxyCpuUsPerReq === null ? 'proxy    -' : `proxy ${r.proxyCpuUsPerReq.toFixed(0).padStart(4)} µs/req (${(r.proxyCores ?? 0).toFixed(2)} cores)`;
  return `${r.mode.padEnd(4)} r${r.round} ${r.label.padEnd(33)} ${r.rps.toFixed(0).padStart(5)} req/s  ${lat}  | ${proxy}  shard ${r.shardCpuUsPerReq.toFixed(0)} µs/req  client ${r.clientCpuUsPerReq.toFixed(0)} µs/req  errors ${r.errors}`;
}

function printTable(s: Summary, pinned: boolean): void {
  const f = (x: number | null, d = 0): string => (x === null ? '-' : x.toFixed(d));
  console.error('\nmedians over rounds (means in results/router-overhead.json)');
  console.error('target                            | max req/s | proxy µs/req | shard µs/req || at rate: p50 ms | p99 ms | p99.9 ms | proxy µs/req');
  for (const [label, m] of Object.entries(s.max)) {
    const r = s.rate[label];
    console.error(
      `${label.padEnd(33)} | ${f(m.rps.median).padStart(9)} | ${f(m.proxyCpuUsPerReq.median).padStart(12)} | ${f(m.shardCpuUsPerReq.median).padStart(12)} || ${f(r?.p50.median ?? null, 3).padStart(15)} | ${f(r?.p99.median ?? null, 3).padStart(6)} | ${f(r?.p999.median ?? null, 3).padStart(8)} | ${f(r?.proxyCpuUsPerReq.median ?? null).padStart(12)}`,
    );
  }
  // Under --pin a proxy below one core at max throughput was not the bottleneck: CPU 0 (shard and load generator) was.
  const unsaturated = Object.entries(s.max).filter(([, m]) => (m.proxyCores.median ?? 1) < 0.9);
  if (pinned && unsaturated.length > 0) {
    console.error(`note: at max throughput ${unsaturated.map(([label, m]) => `${label.split(' →')[0]} used ${(m.proxyCores.median ?? 0).toFixed(2)} of its core`).join(', ')}: CPU 0 set the pace there, so compare those proxies by µs/request`);
  }
  const q = s.ratios.median;
  console.error(
    `router/HAProxy throughput ${f(q.routerVsHaproxyThroughput, 2)}, router/bare ${f(q.routerVsBareNodeProxyThroughput, 2)}, bare/HAProxy ${f(q.bareNodeProxyVsHaproxyThroughput, 2)}; ` +
      `router requests per CPU-second vs HAProxy ${f(q.routerVsHaproxyRequestsPerCpuSecond, 2)}; added at rate: router p50 ${f(q.routerAddedP50AtRateMs, 3)} p99 ${f(q.routerAddedP99AtRateMs, 3)} ms, ` +
      `HAProxy p50 ${f(q.haproxyAddedP50AtRateMs, 3)} p99 ${f(q.haproxyAddedP99AtRateMs, 3)} ms`,
  );
}

async function main(o: Options): Promise<void> {
  const haproxyVersion = /version (\d+\.\d+)/.exec(requireCommand('haproxy', ['-v'], 'apt-get install -y haproxy'))?.[1] ?? '?';
  if (o.pin) {
    requireCommand('taskset', ['-V'], 'apt-get install -y util-linux');
    if (availableParallelism() < 2) throw new Error('--pin needs at least 2 CPUs');
    // Children inherit this; the proxies are moved to their own CPU as they start.
    pinToCpu(process.pid, LOAD_CPU);
  }
  const loadCpu = o.pin ? LOAD_CPU : undefined;
  const owner = new ChildOwner();
  const fleet: FleetChild[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'ocmu-router-bench-'));
  let cleaning: Promise<void> | undefined;
  const cleanup = (): Promise<void> =>
    (cleaning ??= (async () => {
      await Promise.all([owner.stopAll(), ...fleet.map((c) => c.stop(5000))]);
      rmSync(dir, { recursive: true, force: true });
    })());
  const onSignal = (signal: NodeJS.Signals): void => {
    console.error(`router-overhead: ${signal}, stopping the benchmark's processes`);
    void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  const lastResort = (): void => {
    owner.killAllNow();
    for (const c of fleet) if (c.process.exitCode === null && c.process.signalCode === null) c.process.kill('SIGKILL');
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', lastResort);
  try {
    const loadavgAtStart = loadavg();
    const { targets, token, shardPid, affinity } = await startTargets({ pin: o.pin, dir, owner, fleet, haproxyVersion });
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'health' });
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const autocannonRun = (t: Target, duration: number): Promise<AutocannonResult> =>
      runJsonChild<AutocannonResult>(owner, AUTOCANNON_CHILD, [JSON.stringify({ url: `${t.url}/rpc`, method: 'POST', headers, body, connections: o.connections, duration })], loadCpu, (duration + 60) * 1000);
    const maxRun = (t: Target, round: number, position: number) =>
      measured(t, shardPid, async (): Promise<LoadRun> => {
        const r = await autocannonRun(t, o.duration);
        return { mode: 'max', round, position, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, p999: null, requests: r.requests.total, errors: r.non2xx + r.errors + r.timeouts, wallS: r.durationS, sendLagP99: null, servedRequests: r.requests.total, clientCpuUs: r.clientCpuUs };
      });
    const rateRun = (t: Target, round: number, position: number) =>
      measured(t, shardPid, async (): Promise<LoadRun> => {
        const args = ['--url', t.url, '--path', '/rpc', '--method', 'POST', '--headers', JSON.stringify(headers), '--body', body];
        args.push('--rate', String(o.rate), '--duration', String(o['rate-duration']), '--connections', String(RATE_CONNECTIONS), '--warmup', String(RATE_CLIENT_WARMUP_S));
        const r = await runJsonChild<FixedRateResult>(owner, FIXED_RATE_CLIENT, args, loadCpu, (RATE_CLIENT_WARMUP_S + o['rate-duration'] + 60) * 1000);
        const wallS = RATE_CLIENT_WARMUP_S + o['rate-duration'];
        return { mode: 'rate', round, position, rps: r.achievedRate, p50: r.p50 ?? NaN, p99: r.p99 ?? NaN, p999: r.p999, requests: r.ok + r.non2xx, errors: r.non2xx + r.errors, wallS, sendLagP99: r.sendLagP99, servedRequests: r.completedWithWarmup, clientCpuUs: r.clientCpuUs };
      });

    console.error(`router-overhead: ${o.pin ? `pinned (proxies on CPU ${PROXY_CPU}, shard and load generators on CPU ${LOAD_CPU})` : 'shared CPUs (no pinning)'}; affinity ${JSON.stringify(affinity)}`);
    // Warm-up: JIT and connection pools; the router in particular is 2-4x slower in its first seconds.
    if (o.warmup > 0) for (const t of targets) await autocannonRun(t, o.warmup);
    const rows: Row[] = [];
    for (let round = 1; round <= o.rounds; round++) {
      // Rotated per round, so no target always runs first (or right after the same neighbour).
      const order = targets.map((_, i) => targets[(i + round - 1) % targets.length]!);
      for (const run of [maxRun, rateRun]) {
        for (const [i, t] of order.entries()) {
          await sleep(500); // let the previous run's sockets close and GC settle
          const row = await run(t, round, i + 1);
          rows.push(row);
          console.error(describe(row));
        }
      }
    }
    const summary = summarize(rows, targets);
    const result = {
      when: new Date().toISOString(),
      node: process.version,
      cpus: availableParallelism(),
      loadavg: { atStart: loadavgAtStart, atEnd: loadavg() },
      pinned: o.pin,
      affinity,
      clockTicksPerSecond: clockTicksPerSecond(),
      settings: { durationS: o.duration, connections: o.connections, rate: o.rate, rateDurationS: o['rate-duration'], rateConnections: RATE_CONNECTIONS, rateClientWarmupS: RATE_CLIENT_WARMUP_S, rounds: o.rounds, warmupS: o.warmup },
      ...summary,
      rows,
    };
    printTable(summary, o.pin);
    mkdirSync(join(ROOT, 'loadtest', 'results'), { recursive: true });
    writeFileSync(join(ROOT, 'loadtest', 'results', 'router-overhead.json'), `${JSON.stringify(result, null, 2)}\n`);
    console.log(JSON.stringify({ pinned: result.pinned, ratios: result.ratios, perRound: result.perRound, errors: result.errors, loadavg: result.loadavg }, null, 2));
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup();
    process.off('exit', lastResort);
  }
}

try {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string' },
      connections: { type: 'string' },
      rate: { type: 'string' },
      'rate-duration': { type: 'string' },
      rounds: { type: 'string' },
      warmup: { type: 'string' },
      pin: { type: 'boolean' },
    },
    strict: true,
  });
  await main(Options.parse(values));
} catch (err) {
  const usage = err instanceof z.ZodError || (err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS_');
  if (usage) console.error(`router-overhead: ${err instanceof z.ZodError ? z.prettifyError(err) : (err as Error).message}\n${USAGE}`);
  else console.error('router-overhead failed:', err);
  process.exitCode = usage ? 2 : 1;
}
