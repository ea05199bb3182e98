// Tenant density (issue 10, DESIGN §11): N tenants on one shard process, each touched once (one
// memory.add note + one echo chat), with the shard's RSS and open descriptors sampled against the
// tenant count; then restart to ready, the size of a 1-note tenant's directory, and a random 1% of
// the tenants hit at a fixed rate beside a 10-tenant shard in the same run (p99 ratio).
// Targets: RSS < 1 GB, descriptors < 1,000, restart to ready < 3 s, tenant dir < 200 KB, p99 ≤ 2×.
// Run: node --import tsx loadtest/tenant-density.ts [--tenants 10000] [--rate 200] [--seconds 10] [--concurrency 8]
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { mintAdminKey } from '../router/identity/tenant-id.ts';
import { startChild, type FleetChild } from '../ops/dev/child-process.ts';

const arg = (name: string, def: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? def) : def;
};
const TENANTS = Number(arg('tenants', '10000'));
const RATE = Number(arg('rate', '200'));
const SECONDS = Number(arg('seconds', '10'));
const CONCURRENCY = Number(arg('concurrency', '8'));
const ROUNDS = 2;
const SAMPLES = 20;

let seed = 7;
const rand = (): number => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;

interface Sample {
  tenants: number;
  rssMb: number;
  fds: number;
  resident: number;
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? NaN : Number(m[1]) / 1024;
}

function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

async function metric(pool: Pool, name: string): Promise<number> {
  const res = await pool.request({ method: 'GET', path: '/metrics' });
  const text = await res.body.text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m === null ? NaN : Number(m[1]);
}

/** Bytes of every file under `dir` (apparent size) and the blocks they take on disk. */
function dirSize(dir: string): { bytes: number; diskBytes: number } {
  let bytes = 0;
  let diskBytes = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      const s = dirSize(p);
      bytes += s.bytes;
      diskBytes += s.diskBytes;
    } else {
      const st = statSync(p);
      bytes += st.size;
      diskBytes += st.blocks * 512;
    }
  }
  return { bytes, diskBytes };
}

async function call(pool: Pool, path: string, auth: string, body: unknown): Promise<{ status: number; text: string }> {
  const res = await pool.request({ method: 'POST', path, headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.statusCode, text: await res.body.text() };
}

const chatBody = { model: 'echo', messages: [{ role: 'user', content: 'hello there' }] };

/** Creates a tenant and touches it once: one memory note, one echo chat. */
async function touchNew(pool: Pool, adminKey: string, id: string): Promise<string> {
  const created = await call(pool, '/v1/tenants', adminKey, { id });
  if (created.status !== 201) throw new Error(`create ${id}: ${created.status} ${created.text}`);
  const { token } = JSON.parse(created.text) as { token: string };
  const add = await call(pool, '/rpc', token, { jsonrpc: '2.0', id: 1, method: 'memory.add', params: { text: `note of ${id} about blue whales` } });
  if (add.status !== 200 || add.text.includes('"error"')) throw new Error(`memory.add ${id}: ${add.status} ${add.text}`);
  const chat = await call(pool, '/v1/chat/completions', token, chatBody);
  if (chat.status !== 200) throw new Error(`chat ${id}: ${chat.status} ${chat.text}`);
  return token;
}

async function startShard(name: string, dataDir: string, adminKey: string, logDir: string): Promise<FleetChild> {
  const cfg = join(logDir, `${name}.yaml`);
  writeFileSync(cfg, 'logLevel: warn\n');
  return startChild(name, ['shard', '--id', name, '--port', '0', '--data', dataDir, '--admin-key', adminKey, '--config', cfg], join(logDir, `${name}.log`), { ...process.env });
}

/** The in-process start time the shard printed on its last listening line (services, tenant records, listen). */
function lastStartMs(logDir: string, name: string): number {
  const lines = readFileSync(join(logDir, `${name}.log`), 'utf8').split('\n').filter((l) => l.startsWith('{"event":"listening"'));
  const last = lines[lines.length - 1];
  return last === undefined ? NaN : Number((JSON.parse(last) as { startMs?: number }).startMs);
}

/** Stops a shard and starts it again on its data; returns the new child and spawn → /readyz 200 in ms. */
async function restart(child: FleetChild, name: string, dataDir: string, adminKey: string, logDir: string): Promise<{ child: FleetChild; ms: number }> {
  await child.stop();
  const t0 = performance.now();
  const next = await startShard(name, dataDir, adminKey, logDir);
  for (;;) {
    const r = await fetch(`${next.url}/readyz`);
    await r.text();
    if (r.status === 200) break;
    await sleep(10);
  }
  return { child: next, ms: performance.now() - t0 };
}

/** Open-loop load: request i is due at t0 + i/rate; latency counts from the due time (no coordinated omission). */
async function hit(pool: Pool, tokens: readonly string[], rate: number, seconds: number): Promise<{ p50: number; p99: number; errors: number; n: number }> {
  const total = Math.round(rate * seconds);
  const lat: number[] = [];
  let errors = 0;
  const t0 = performance.now() + 20;
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const token = tokens[Math.floor(rand() * tokens.length)] as string;
    inflight.push(
      call(pool, '/v1/chat/completions', token, chatBody).then(
        (r) => {
          if (r.status !== 200) errors++;
          lat.push(performance.now() - due);
        },
        () => {
          errors++;
        },
      ),
    );
  }
  await Promise.all(inflight);
  lat.sort((a, b) => a - b);
  const q = (p: number): number => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN;
  return { p50: q(0.5), p99: q(0.99), errors, n: lat.length };
}

function plotSvg(samples: Sample[]): string {
  const W = 900;
  const H = 420;
  const panel = (x0: number, title: string, ys: number[], limit: number, unit: string, colour: string): string => {
    const w = 380;
    const h = 300;
    const top = 60;
    const maxX = Math.max(...samples.map((s) => s.tenants), 1);
    const maxY = Math.max(limit * 1.15, ...ys) * 1.05;
    const px = (v: number): number => x0 + 60 + (v / maxX) * w;
    const py = (v: number): number => top + h - (v / maxY) * h;
    const pts = samples.map((s, i) => `${px(s.tenants).toFixed(1)},${py(ys[i] as number).toFixed(1)}`).join(' ');
    const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
      const v = f * maxY;
      return `<line x1="${x0 + 60}" x2="${x0 + 60 + w}" y1="${py(v)}" y2="${py(v)}" stroke="#eee"/><text x="${x0 + 55}" y="${py(v) + 4}" text-anchor="end" font-size="11">${Math.round(v)}</text>`;
    });
    const xt = [0, 0.25, 0.5, 0.75, 1].map((f) => `<text x="${px(f * maxX)}" y="${top + h + 16}" text-anchor="middle" font-size="11">${Math.round(f * maxX)}</text>`);
    return [
      `<text x="${x0 + 60 + w / 2}" y="${top - 20}" text-anchor="middle" font-size="14" font-weight="bold">${title}</text>`,
      ...ticks,
      ...xt,
      `<line x1="${x0 + 60}" x2="${x0 + 60 + w}" y1="${py(limit)}" y2="${py(limit)}" stroke="#c00" stroke-dasharray="6 4"/>`,
      `<text x="${x0 + 60 + w}" y="${py(limit) - 5}" text-anchor="end" font-size="11" fill="#c00">target &lt; ${limit} ${unit}</text>`,
      `<polyline points="${pts}" fill="none" stroke="${colour}" stroke-width="2"/>`,
      ...samples.map((s, i) => `<circle cx="${px(s.tenants)}" cy="${py(ys[i] as number)}" r="2.5" fill="${colour}"/>`),
      `<text x="${x0 + 60 + w / 2}" y="${top + h + 36}" text-anchor="middle" font-size="12">tenants touched (memory note + echo chat)</text>`,
      `<rect x="${x0 + 60}" y="${top}" width="${w}" height="${h}" fill="none" stroke="#999"/>`,
    ].join('\n');
  };
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>`,
    panel(0, 'Shard RSS (MB)', samples.map((s) => s.rssMb), 1024, 'MB', '#1f77b4'),
    panel(450, 'Open file descriptors', samples.map((s) => s.fds), 1000, 'fds', '#ff7f0e'),
    '</svg>',
  ].join('\n');
}

/** SVG → PNG with headless Chromium (Debian's chromium), if present. */
function renderPng(svgPath: string, pngPath: string): boolean {
  for (const bin of ['chromium', 'chromium-browser']) {
    try {
      execFileSync(bin, ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', `--screenshot=${pngPath}`, '--window-size=900,420', `file://${svgPath}`], { stdio: 'ignore', timeout: 60_000 });
      return true;
    } catch {
      // try the next name
    }
  }
  return false;
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'ocmu-density-'));
  const logDir = join(root, 'logs');
  mkdirSync(logDir);
  const adminKey = mintAdminKey();
  const children: FleetChild[] = [];
  const pools: Pool[] = [];
  const poolFor = (url: string): Pool => {
    const p = new Pool(url, { connections: 32, pipelining: 1 });
    pools.push(p);
    return p;
  };
  try {
    // --- the small shard: 10 tenants, touched once --------------------------------------------
    const small = await startShard('small', join(root, 'small'), adminKey, logDir);
    children.push(small);
    let smallPool = poolFor(small.url);
    const smallTokens: string[] = [];
    for (let i = 0; i < 10; i++) smallTokens.push(await touchNew(smallPool, adminKey, `s${i}`));

    // --- the big shard: N tenants touched once, sampled as it grows ---------------------------
    const bigDir = join(root, 'big');
    let big = await startShard('big', bigDir, adminKey, logDir);
    children.push(big);
    let bigPool = poolFor(big.url);
    const samples: Sample[] = [{ tenants: 0, rssMb: rssMb(big.pid), fds: openFds(big.pid), resident: 0 }];
    const tokens: string[] = new Array<string>(TENANTS);
    const every = Math.max(1, Math.floor(TENANTS / SAMPLES));
    let next = 0;
    const t0 = performance.now();
    for (let done = 0; done < TENANTS; done += every) {
      const upto = Math.min(TENANTS, done + every);
      const workers: Promise<void>[] = [];
      const bounded = async (): Promise<void> => {
        while (next < upto) {
          const i = next++;
          tokens[i] = await touchNew(bigPool, adminKey, `t${i}`);
        }
      };
      for (let w = 0; w < CONCURRENCY; w++) workers.push(bounded());
      await Promise.all(workers);
      const s = { tenants: upto, rssMb: rssMb(big.pid), fds: openFds(big.pid), resident: await metric(bigPool, 'openclawmu_tenants_resident') };
      samples.push(s);
      const rate = upto / ((performance.now() - t0) / 1000);
      console.log(`${upto} tenants: RSS ${s.rssMb.toFixed(0)} MB, ${s.fds} fds, ${s.resident} resident (${rate.toFixed(0)} tenants/s)`);
    }
    const touchSeconds = (performance.now() - t0) / 1000;
    const final = samples[samples.length - 1] as Sample;
    const oneDir = dirSize(join(bigDir, 'tenants', 't0'));

    // --- restart to ready, beside the 10-tenant shard's ------------------------------------------
    const smallRestart = await restart(small, 'small', join(root, 'small'), adminKey, logDir);
    children.push(smallRestart.child);
    await smallPool.close();
    smallPool = poolFor(smallRestart.child.url);
    const bigRestart = await restart(big, 'big', bigDir, adminKey, logDir);
    big = bigRestart.child;
    children.push(big);
    await bigPool.close();
    bigPool = poolFor(big.url);
    const restartMs = bigRestart.ms;
    const restartStartMs = { small: lastStartMs(logDir, 'small'), big: lastStartMs(logDir, 'big') };
    const afterRestart = { rssMb: rssMb(big.pid), fds: openFds(big.pid), resident: await metric(bigPool, 'openclawmu_tenants_resident') };

    // --- hot 1% at a fixed rate, beside the 10-tenant shard ---------------------------------------
    const hot: string[] = [];
    const hotCount = Math.max(1, Math.round(TENANTS / 100));
    const picked = new Set<number>();
    while (picked.size < hotCount) picked.add(Math.floor(rand() * TENANTS));
    for (const i of picked) hot.push(tokens[i] as string);
    await hit(smallPool, smallTokens, RATE, 2); // warm-up, unrecorded
    await hit(bigPool, hot, RATE, 2);
    const runs: { shard: string; p50: number; p99: number; errors: number; n: number }[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      runs.push({ shard: 'small', ...(await hit(smallPool, smallTokens, RATE, SECONDS)) });
      runs.push({ shard: 'big', ...(await hit(bigPool, hot, RATE, SECONDS)) });
    }
    const worst = (s: string): number => Math.max(...runs.filter((x) => x.shard === s).map((x) => x.p99));
    const afterHot = { rssMb: rssMb(big.pid), fds: openFds(big.pid), resident: await metric(bigPool, 'openclawmu_tenants_resident') };

    const result = {
      when: new Date().toISOString(),
      load: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
      tenants: TENANTS,
      touchSeconds: Math.round(touchSeconds),
      final,
      oneTenantDir: oneDir,
      restartToReadyMs: Math.round(restartMs),
      smallRestartToReadyMs: Math.round(smallRestart.ms),
      restartStartMs,
      afterRestart,
      hot: { tenants: hotCount, rate: RATE, seconds: SECONDS, rounds: ROUNDS, runs, p99Ratio: worst('big') / worst('small') },
      afterHot,
      samples,
    };
    console.log('\n| measure | value | target |\n|---|---:|---|');
    console.log(`| RSS after ${TENANTS} tenants touched | ${final.rssMb.toFixed(0)} MB | < 1024 MB |`);
    console.log(`| open descriptors | ${final.fds} | < 1,000 |`);
    console.log(`| resident tenants | ${final.resident} | ≤ limits.residentTenants |`);
    console.log(`| restart to ready (spawn → /readyz 200) | ${Math.round(restartMs)} ms (10-tenant shard: ${Math.round(smallRestart.ms)} ms) | < 3,000 ms |`);
    console.log(`| of which the shard's own start (services, records, listen) | ${restartStartMs.big} ms (10-tenant shard: ${restartStartMs.small} ms) | |`);
    console.log(`| 1-note tenant directory | ${(oneDir.bytes / 1024).toFixed(0)} KB (${(oneDir.diskBytes / 1024).toFixed(0)} KB on disk) | < 200 KB |`);
    for (const r of runs) console.log(`| ${r.shard === 'big' ? `hot 1% of ${TENANTS}` : '10-tenant shard'} @ ${RATE}/s: p50 / p99 | ${r.p50.toFixed(1)} / ${r.p99.toFixed(1)} ms (${r.errors} errors of ${r.n}) | |`);
    console.log(`| p99 ratio (worst round each) | ${result.hot.p99Ratio.toFixed(2)} | ≤ 2 |`);
    const out = new URL('./results/', import.meta.url).pathname;
    writeFileSync(join(out, 'tenant-density.json'), `${JSON.stringify(result, null, 2)}\n`);
    const svg = join(out, 'tenant-density.svg');
    writeFileSync(svg, plotSvg(samples));
    console.log(renderPng(svg, join(out, 'tenant-density.png')) ? 'plot: loadtest/results/tenant-density.png' : 'plot: loadtest/results/tenant-density.svg (no chromium for PNG)');
  } finally {
    for (const p of pools) await p.close().catch(() => undefined);
    for (const c of children.reverse()) await c.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
