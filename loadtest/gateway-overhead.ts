// Gateway overhead on POST /v1/chat/completions against a local fake upstream, side by side in one
// invocation: direct to the upstream, through @portkey-ai/gateway (one hop), through our shard
// alone, and through our router + shard (two hops, with auth, quota and ledger), non-stream and stream.
// Run: node --import tsx loadtest/gateway-overhead.ts [--duration 8] [--connections 32]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mintAdminKey } from '../router/identity/tenant-id.ts';

interface AutocannonResult {
  requests: { average: number };
  latency: { p50: number; p99: number };
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
const ROOT = new URL('..', import.meta.url).pathname;
const children: ChildProcess[] = [];

/** Spawns a process and resolves with the first JSON line that has event=listening (or a URL line). */
function start(args: string[], match: (line: string) => string | null): Promise<string> {
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_ENV: 'production' } });
  children.push(child);
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer): void => {
      buf += d.toString('utf8');
      for (const line of buf.split('\n')) {
        const url = match(line);
        if (url !== null) {
          child.stdout?.off('data', onData);
          resolve(url);
          return;
        }
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', () => undefined);
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}`)));
  });
}

const listening = (line: string): string | null => {
  try {
    const j = JSON.parse(line) as { event?: string; url?: string };
    return j.event === 'listening' && typeof j.url === 'string' ? j.url : null;
  } catch {
    return null;
  }
};

async function waitFor(url: string, init: RequestInit): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const r = await fetch(url, init);
      await r.text();
      if (r.status < 500 || Date.now() > deadline - 15_000) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not come up`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface Row {
  mode: string;
  target: string;
  rps: number;
  p50: number;
  p99: number;
  /** non-2xx + errors + timeouts during the run; -1 = the target could not serve this mode at all */
  failures: number;
  note?: string;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ocmu-overhead-'));
  try {
    const upstream = await start(['--import', 'tsx', 'loadtest/gateway-overhead-upstream.ts'], listening);
    const adminKey = mintAdminKey();
    const cfg = join(dir, 'shard.yaml');
    writeFileSync(cfg, `logLevel: warn\nproviders:\n  openai:\n    kind: openai\n    baseUrl: ${upstream}/v1\n    apiKey: sk-fake\n    allowPrivateNetwork: true\n    maxRetries: 0\n`);
    const shard = await start(['ops/bin/openclawmu.mjs', 'shard', '--id', 's1', '--port', '0', '--data', join(dir, 'data'), '--admin-key', adminKey, '--config', cfg], listening);
    const created = await fetch(`${shard}/v1/tenants`, { method: 'POST', headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ id: 'bench' }) });
    if (created.status !== 201) throw new Error(`tenant create: ${created.status} ${await created.text()}`);
    const { token } = (await created.json()) as { token: string };
    const manifest = join(dir, 'manifest.json');
    writeFileSync(manifest, JSON.stringify({ version: 1, shards: [{ id: 's1', url: shard, weight: 1 }], overrides: {} }));
    const router = await start(['ops/bin/openclawmu.mjs', 'router', '--port', '0', '--manifest', manifest, '--log-level', 'warn'], listening);
    const portkeyPort = 18000 + Math.floor(Math.random() * 1000);
    const portkey = `http://127.0.0.1:${portkeyPort}`;
    const pk = spawn(process.execPath, ['node_modules/@portkey-ai/gateway/build/start-server.js', `--port=${portkeyPort}`, '--headless'], { cwd: ROOT, stdio: 'ignore' });
    children.push(pk);
    await waitFor(`${portkey}/v1/models`, {});

    const targets: { target: string; url: string; headers: Record<string, string>; model: string }[] = [
      { target: 'direct (fake upstream)', url: `${upstream}/v1/chat/completions`, headers: { authorization: 'Bearer sk-fake' }, model: 'gpt-fake' },
      { target: 'portkey gateway (1 hop)', url: `${portkey}/v1/chat/completions`, headers: { authorization: 'Bearer sk-fake', 'x-portkey-provider': 'openai', 'x-portkey-custom-host': `${upstream}/v1` }, model: 'gpt-fake' },
      { target: 'openclawmu shard (1 hop)', url: `${shard}/v1/chat/completions`, headers: { authorization: `Bearer ${token}` }, model: 'openai/gpt-fake' },
      { target: 'openclawmu router+shard (2 hops)', url: `${router}/v1/chat/completions`, headers: { authorization: `Bearer ${token}` }, model: 'openai/gpt-fake' },
    ];
    const rows: Row[] = [];
    for (const stream of [false, true]) {
      for (const t of targets) {
        const body = JSON.stringify({ model: t.model, stream, ...(stream ? { stream_options: { include_usage: true } } : {}), messages: [{ role: 'user', content: 'The quick brown fox jumps over the lazy dog, twice over.' }] });
        const init = { method: 'POST', headers: { ...t.headers, 'content-type': 'application/json' }, body };
        await waitFor(t.url, init);
        const probe = await fetch(t.url, init);
        const probeText = await probe.text();
        if (!probe.ok) {
          // e.g. Portkey 1.15.2 streaming on Node with a newer @hono/node-server: "TypeError: immutable" (Portkey issue #1389)
          const row = { mode: stream ? 'stream' : 'non-stream', target: t.target, rps: 0, p50: 0, p99: 0, failures: -1, note: `probe answered HTTP ${probe.status}: ${probeText.slice(0, 80)}` };
          rows.push(row);
          console.log(JSON.stringify(row));
          continue;
        }
        await autocannon({ url: t.url, ...init, connections: CONNECTIONS, duration: 1 }); // warm-up
        const r = await autocannon({ url: t.url, ...init, connections: CONNECTIONS, duration: DURATION });
        const row = { mode: stream ? 'stream' : 'non-stream', target: t.target, rps: Math.round(r.requests.average), p50: r.latency.p50, p99: r.latency.p99, failures: r.non2xx + r.errors + r.timeouts };
        rows.push(row);
        console.log(JSON.stringify(row));
      }
    }
    const ratio = (mode: string, a: string, b: string): number | null => {
      const x = rows.find((r) => r.mode === mode && r.target.startsWith(a));
      const y = rows.find((r) => r.mode === mode && r.target.startsWith(b));
      return x === undefined || y === undefined || y.rps === 0 || x.failures !== 0 || y.failures !== 0 ? null : Math.round((x.rps / y.rps) * 100) / 100;
    };
    const ratios = ['non-stream', 'stream'].map((mode) => ({
      mode,
      shardVsDirect: ratio(mode, 'openclawmu shard', 'direct'),
      routerShardVsDirect: ratio(mode, 'openclawmu router', 'direct'),
      routerShardVsPortkey: ratio(mode, 'openclawmu router', 'portkey'),
      shardVsPortkey: ratio(mode, 'openclawmu shard', 'portkey'),
    }));
    console.table(rows);
    console.table(ratios);
    mkdirSync(join(ROOT, 'loadtest', 'results'), { recursive: true });
    writeFileSync(join(ROOT, 'loadtest', 'results', 'gateway-overhead.json'), `${JSON.stringify({ at: new Date().toISOString(), duration: DURATION, connections: CONNECTIONS, rows, ratios }, null, 2)}\n`);
  } finally {
    for (const c of children) c.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
