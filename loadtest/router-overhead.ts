// Router overhead, side by side in one invocation against one real shard (POST /rpc `health`:
// token auth, ownership gate, JSON-RPC): client → shard directly, client → our router → shard,
// client → HAProxy (Debian package, `balance hdr(authorization)` + `hash-type consistent`) → shard.
// Two measurements: max throughput (closed loop, N connections) and latency at a fixed moderate rate.
// Run: node --import tsx loadtest/router-overhead.ts [--duration 8] [--connections 32] [--rate 500] [--rounds 2] [--warmup 6]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mintAdminKey } from '../router/identity/tenant-id.ts';
import { startChild, type FleetChild } from '../ops/dev/child-process.ts';

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? def) : def;
}
const DURATION = Number(arg('duration', '8'));
const CONNECTIONS = Number(arg('connections', '32'));
const RATE = Number(arg('rate', '500'));
const ROUNDS = Number(arg('rounds', '2'));
const WARMUP = Number(arg('warmup', '6'));
const ROOT = new URL('..', import.meta.url).pathname;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((ok) => s.close(() => ok()));
  return port;
}

async function waitForPort(port: number, deadlineMs = 10_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const ok = await new Promise<boolean>((res) => {
      const c = connect(port, '127.0.0.1', () => (c.end(), res(true)));
      c.on('error', () => res(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`port ${port} did not open`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Row {
  target: string;
  mode: 'max' | 'rate';
  round: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ocmu-router-bench-'));
  const children: FleetChild[] = [];
  let haproxy: ChildProcess | undefined;
  let bare: ChildProcess | undefined;
  const env = { ...process.env };
  try {
    const adminKey = mintAdminKey();
    mkdirSync(join(dir, 'logs'));
    const shard = await startChild('s1', ['shard', '--id', 's1', '--port', '0', '--data', join(dir, 's1'), '--admin-key', adminKey, '--config', writeYaml(dir, 'shard.yaml', 'logLevel: warn\n')], join(dir, 'logs', 's1.log'), env);
    children.push(shard);
    const manifest = join(dir, 'manifest.json');
    writeFileSync(manifest, JSON.stringify({ version: 1, shards: [{ id: 's1', url: shard.url, weight: 1 }], overrides: {} }));
    const router = await startChild('router', ['router', '--port', '0', '--manifest', manifest, '--log-level', 'warn'], join(dir, 'logs', 'router.log'), env);
    children.push(router);

    const hport = await freePort();
    const shardHostPort = shard.url.replace('http://', '');
    const cfg = writeYaml(
      dir,
      'haproxy.cfg',
      [
        'global',
        '  nbthread 1',
        '  maxconn 4096',
        'defaults',
        '  mode http',
        '  timeout connect 5s',
        '  timeout client 60s',
        '  timeout server 60s',
        '  option http-keep-alive',
        '  option forwardfor',
        'frontend fe',
        `  bind 127.0.0.1:${hport}`,
        '  default_backend shards',
        'backend shards',
        '  balance hdr(authorization)',
        '  hash-type consistent',
        '  http-reuse always',
        `  server s1 ${shardHostPort} maxconn 64`,
        '',
      ].join('\n'),
    );
    haproxy = spawn('haproxy', ['-f', cfg, '-db'], { stdio: ['ignore', 'ignore', 'inherit'] });
    await waitForPort(hport);
    const haproxyUrl = `http://127.0.0.1:${hport}`;

    // A bare Node proxy (undici, no router logic): the floor any Node router starts from.
    bare = spawn(process.execPath, [new URL('./bare-node-proxy.mjs', import.meta.url).pathname, shard.url], { stdio: ['ignore', 'pipe', 'inherit'] });
    const barePort = await new Promise<number>((resolve, reject) => {
      bare?.stdout?.once('data', (d: Buffer) => resolve((JSON.parse(d.toString()) as { port: number }).port));
      bare?.once('exit', (code) => reject(new Error(`bare proxy exited ${code}`)));
    });

    const created = await fetch(`${shard.url}/v1/tenants`, { method: 'POST', headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ id: 'bench' }) });
    const { token } = (await created.json()) as { token: string };
    const targets = [
      { target: 'direct (client → shard)', url: shard.url },
      { target: 'openclawmu router → shard', url: router.url },
      { target: 'HAProxy 2.6 → shard', url: haproxyUrl },
      { target: 'bare Node proxy (undici) → shard', url: `http://127.0.0.1:${barePort}` },
    ];
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'health' });
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const rows: Row[] = [];
    // Warm-up: JIT and connection pools; the router in particular is 2-4x slower in its first seconds.
    for (const t of targets) await autocannon({ url: `${t.url}/rpc`, method: 'POST', headers, body, connections: CONNECTIONS, duration: WARMUP });
    for (let round = 1; round <= ROUNDS; round++) {
      for (const t of targets) {
        const r = await autocannon({ url: `${t.url}/rpc`, method: 'POST', headers, body, connections: CONNECTIONS, duration: DURATION });
        rows.push({ target: t.target, mode: 'max', round, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.non2xx + r.errors + r.timeouts });
        console.error(`max  r${round} ${t.target.padEnd(28)} ${r.requests.average.toFixed(0)} req/s p50 ${r.latency.p50} ms p99 ${r.latency.p99} ms`);
      }
      for (const t of targets) {
        const r = await autocannon({ url: `${t.url}/rpc`, method: 'POST', headers, body, connections: 10, overallRate: RATE, duration: DURATION });
        rows.push({ target: t.target, mode: 'rate', round, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.non2xx + r.errors + r.timeouts });
        console.error(`rate r${round} ${t.target.padEnd(28)} ${r.requests.average.toFixed(0)} req/s p50 ${r.latency.p50} ms p99 ${r.latency.p99} ms`);
      }
    }
    const mean = (mode: Row['mode'], target: string, k: 'rps' | 'p50' | 'p99'): number => {
      const xs = rows.filter((r) => r.mode === mode && r.target === target).map((r) => r[k]);
      return xs.reduce((a, b) => a + b, 0) / xs.length;
    };
    const [direct, ours, ha] = targets.map((t) => t.target) as [string, string, string];
    const summary = {
      when: new Date().toISOString(),
      node: process.version,
      cpus: (await import('node:os')).cpus().length,
      loadavg: (await import('node:os')).loadavg(),
      settings: { durationS: DURATION, connections: CONNECTIONS, rate: RATE, rounds: ROUNDS, warmupS: WARMUP },
      max: Object.fromEntries(targets.map((t) => [t.target, { rps: mean('max', t.target, 'rps'), p50: mean('max', t.target, 'p50'), p99: mean('max', t.target, 'p99') }])),
      rate: Object.fromEntries(targets.map((t) => [t.target, { rps: mean('rate', t.target, 'rps'), p50: mean('rate', t.target, 'p50'), p99: mean('rate', t.target, 'p99') }])),
      ratios: {
        routerVsHaproxyThroughput: mean('max', ours, 'rps') / mean('max', ha, 'rps'),
        routerVsDirectThroughput: mean('max', ours, 'rps') / mean('max', direct, 'rps'),
        haproxyVsDirectThroughput: mean('max', ha, 'rps') / mean('max', direct, 'rps'),
        routerVsBareNodeProxyThroughput: mean('max', ours, 'rps') / mean('max', 'bare Node proxy (undici) → shard', 'rps'),
        bareNodeProxyVsHaproxyThroughput: mean('max', 'bare Node proxy (undici) → shard', 'rps') / mean('max', ha, 'rps'),
        routerAddedP99AtRateMs: mean('rate', ours, 'p99') - mean('rate', direct, 'p99'),
        haproxyAddedP99AtRateMs: mean('rate', ha, 'p99') - mean('rate', direct, 'p99'),
        routerAddedP50AtRateMs: mean('rate', ours, 'p50') - mean('rate', direct, 'p50'),
      },
      errors: rows.reduce((n, r) => n + r.errors, 0),
      rows,
    };
    mkdirSync(join(ROOT, 'loadtest', 'results'), { recursive: true });
    writeFileSync(join(ROOT, 'loadtest', 'results', 'router-overhead.json'), `${JSON.stringify(summary, null, 2)}\n`);
    console.log(JSON.stringify({ max: summary.max, rate: summary.rate, ratios: summary.ratios, errors: summary.errors, loadavg: summary.loadavg }, null, 2));
  } finally {
    haproxy?.kill('SIGTERM');
    bare?.kill('SIGTERM');
    await Promise.all(children.map((c) => c.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

function writeYaml(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

await main();
