// A fleet across hosts: network namespaces joined by veth links to one bridge stand in for machines
// (a router host, shard hosts, an S3 host running moto_server), and everything is started through the
// CLI as an operator would: fleet init, add-shard, tenants, chats, a backup to s3://, a fourth shard
// added and rebalanced under a writer, one host's link cut and restored, and a shard lost for good.
// Addresses are 10.99.0.0/24 inside this run's own namespaces only; nothing leaves them but loopback.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { mintAdminKey } from '../router/identity/tenant-id.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// The development entry (tsx): package.json's bin is the compiled dist/, which `npm test` does not build
// (test/package-install.test.ts rebuilds it while other tests run).
const BIN = join(ROOT, 'ops/bin/openclawmu.mjs');
const RUN = `ocmu${process.pid}`;
const NS = { lan: `${RUN}-lan`, router: `${RUN}-r`, s3: `${RUN}-s3`, s1: `${RUN}-s1`, s2: `${RUN}-s2`, s3h: `${RUN}-s3h`, s4: `${RUN}-s4` } as const;
type Host = 'router' | 's3' | 's1' | 's2' | 's3h' | 's4';
const IP: Record<Host, string> = { router: '10.99.0.10', s1: '10.99.0.11', s2: '10.99.0.12', s3h: '10.99.0.13', s4: '10.99.0.14', s3: '10.99.0.50' };
/** Shard id → its host. */
const SHARD_HOST: Record<string, Host> = { s1: 's1', s2: 's2', s3: 's3h', s4: 's4' };
const BLOB = `s3://ocmu-fleet/prod?endpoint=${encodeURIComponent(`http://${IP.s3}:5000`)}`;
const ROUTER_URL = `http://${IP.router}:18789`;
const shardUrl = (id: string): string => `http://${IP[SHARD_HOST[id] as Host]}:18800`;

function missing(): string | null {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  if (spawnSync('ip', ['-V'], { stdio: 'ignore' }).status !== 0) return 'no `ip` command (iproute2)';
  if (spawnSync('moto_server', ['--help'], { stdio: 'ignore' }).status !== 0) return 'no moto_server for the S3 host';
  const probe = `${RUN}-probe`;
  if (spawnSync('ip', ['netns', 'add', probe], { stdio: 'ignore' }).status !== 0) return 'cannot create network namespaces here';
  spawnSync('ip', ['netns', 'del', probe], { stdio: 'ignore' });
  return null;
}

function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
}

/** Namespaces left by a run of this test that died without cleaning up (its pid is gone). */
function removeStaleNamespaces(): void {
  const list = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  for (const line of list.split('\n')) {
    const m = /^(ocmu(\d+)-[a-z0-9]+)/.exec(line);
    if (m === null || Number(m[2]) === process.pid) continue;
    let alive = true;
    try {
      process.kill(Number(m[2]), 0);
    } catch {
      alive = false;
    }
    if (!alive) spawnSync('ip', ['netns', 'del', m[1] as string], { stdio: 'ignore' });
  }
}

/** The hosts: one bridge in a "lan" namespace, each host a namespace with eth0 on a veth to it. */
function buildNetwork(): void {
  ip('netns', 'add', NS.lan);
  ip('-n', NS.lan, 'link', 'add', 'br0', 'type', 'bridge');
  ip('-n', NS.lan, 'link', 'set', 'br0', 'up');
  for (const host of Object.keys(IP) as Host[]) {
    const ns = NS[host];
    ip('netns', 'add', ns);
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('link', 'add', 'eth0', 'netns', ns, 'type', 'veth', 'peer', 'name', `p-${host}`, 'netns', NS.lan);
    ip('-n', NS.lan, 'link', 'set', `p-${host}`, 'master', 'br0');
    ip('-n', NS.lan, 'link', 'set', `p-${host}`, 'up');
    ip('-n', ns, 'addr', 'add', `${IP[host]}/24`, 'dev', 'eth0');
    ip('-n', ns, 'link', 'set', 'eth0', 'up');
  }
}

function destroyNetwork(): void {
  for (const ns of Object.values(NS)) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
}

interface Fleet {
  dir: string;
  adminKey: string;
  env: NodeJS.ProcessEnv;
  procs: Map<string, ChildProcess>;
  logs: Map<string, string>;
}

/** A long-running process on a host; its output goes to <dir>/<name>.log. */
function startOn(f: Fleet, host: Host, name: string, argv: string[]): ChildProcess {
  const log = join(f.dir, `${name}.log`);
  const child = spawn('ip', ['netns', 'exec', NS[host], ...argv], { env: f.env, stdio: ['pipe', 'pipe', 'pipe'] });
  const out = createWriteStream(log);
  (child.stderr as Readable).pipe(out);
  f.procs.set(name, child);
  f.logs.set(name, log);
  return child;
}

/** Resolves on the `{"event":"listening"}` line a shard or router prints. */
function listening(child: ChildProcess, name: string, f: Fleet): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const rl = createInterface({ input: child.stdout as Readable });
    const timer = setTimeout(() => reject(new Error(`${name} did not listen in 60 s: ${tail(f, name)}`)), 60_000);
    rl.on('line', (line) => {
      if (line.includes('"event":"listening"')) {
        clearTimeout(timer);
        resolvePromise();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before listening: ${tail(f, name)}`));
    });
  });
}

function tail(f: Fleet, name: string): string {
  const p = f.logs.get(name);
  if (p === undefined) return '';
  try {
    return readFileSync(p, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '';
  }
}

async function stop(f: Fleet, name: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const child = f.procs.get(name);
  f.procs.delete(name);
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill(signal);
  await exited;
}

/** One `openclawmu …` command on the router host, as an operator types it; JSON out. */
async function cli<T>(f: Fleet, args: string[], expectCode = 0): Promise<T> {
  const child = spawn('ip', ['netns', 'exec', NS.router, process.execPath, BIN, ...args, '--json'], { env: f.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  (child.stdout as Readable).on('data', (c: Buffer) => (out += c.toString('utf8')));
  (child.stderr as Readable).on('data', (c: Buffer) => (err += c.toString('utf8')));
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  assert.equal(code, expectCode, `openclawmu ${args.join(' ')} → ${code}\n${out}\n${err}`);
  const last = out.trim().split('\n').pop() ?? 'null';
  return JSON.parse(last) as T;
}

/** The tenants' side, inside the router host (operator-agent.ts). */
function startAgent(f: Fleet): (cmd: Record<string, unknown>) => Promise<Record<string, unknown>> {
  const child = startOn(f, 'router', 'agent', [process.execPath, '--import', 'tsx', join(ROOT, 'test/multi-host/operator-agent.ts')]);
  const pending = new Map<number, (v: Record<string, unknown>) => void>();
  createInterface({ input: child.stdout as Readable }).on('line', (line) => {
    const msg = JSON.parse(line) as { n: number; answer?: Record<string, unknown>; error?: string };
    pending.get(msg.n)?.(msg.answer ?? { agentError: msg.error });
    pending.delete(msg.n);
  });
  let n = 0;
  return (cmd) =>
    new Promise((r) => {
      const id = ++n;
      pending.set(id, r);
      (child.stdin as Writable).write(`${JSON.stringify({ ...cmd, n: id })}\n`);
    });
}

async function startShardHost(f: Fleet, id: string): Promise<void> {
  const host = SHARD_HOST[id] as Host;
  const child = startOn(f, host, id, [process.execPath, BIN, 'shard', '--id', id, '--host', IP[host], '--port', '18800', '--data', join(f.dir, id), '--admin-key', f.adminKey, '--blob', BLOB]);
  await listening(child, id, f);
}

const reason = missing();
const mustRun = process.env['CI'] === 'true';

void test('multi-host: fleet init, add-shard, tenants, chats, backup to s3://, a fourth shard rebalanced under a writer, a cut link, a lost shard recovered', { skip: reason !== null && !mustRun ? reason : false, timeout: 360_000 }, async (t: TestContext) => {
  assert.equal(reason, null, `CI must run the multi-host test: ${reason}`);
  removeStaleNamespaces();
  const dir = mkdtempSync(join(tmpdir(), 'ocmu-multihost-'));
  const adminKey = mintAdminKey();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OPENCLAWMU_URL: ROUTER_URL,
    OPENCLAWMU_ADMIN_KEY: adminKey,
    OPENCLAWMU_BLOB: BLOB,
    AWS_ACCESS_KEY_ID: 'multihost',
    AWS_SECRET_ACCESS_KEY: 'multihost',
    AWS_REGION: 'us-east-1',
    NODE_NO_WARNINGS: '1',
  };
  const f: Fleet = { dir, adminKey, env, procs: new Map(), logs: new Map() };
  // Cleanup even when anything below throws: processes first, then the namespaces, then the files.
  const teardown = (): void => {
    for (const child of f.procs.values()) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    destroyNetwork();
  };
  // Even if the runner is interrupted (t.after would not run): synchronous, so it works in 'exit'.
  process.once('exit', teardown);
  t.after(async () => {
    for (const name of [...f.procs.keys()]) await stop(f, name, 'SIGKILL');
    teardown();
    process.off('exit', teardown);
    rmSync(dir, { recursive: true, force: true });
  });
  buildNetwork();
  const t0 = Date.now();
  const step = (what: string): void => void process.stderr.write(`multi-host +${((Date.now() - t0) / 1000).toFixed(1)}s: ${what}\n`);

  // The S3 host, and the operator's session on the router host.
  startOn(f, 's3', 'moto', ['moto_server', '-H', IP.s3, '-p', '5000']);
  const agent = startAgent(f);
  assert.equal((await agent({ op: 'wait', url: `http://${IP.s3}:5000/`, timeoutMs: 30_000 })).status, 200, tail(f, 'moto'));

  step('fleet init');
  // 1. A new fleet: the bucket and the first manifest.
  const init = await cli<{ bucket: string; manifestVersion: number }>(f, ['fleet', 'init', '--create-bucket']);
  assert.deepEqual([init.bucket, init.manifestVersion], ['created', 1]);

  step('shards s1-s3');
  // 2. Three shard hosts join.
  await Promise.all(['s1', 's2', 's3'].map((id) => startShardHost(f, id)));
  for (const id of ['s1', 's2', 's3']) await cli(f, ['fleet', 'add-shard', id, shardUrl(id)]);
  writeFileSync(join(dir, 'router.yaml'), 'pollIntervalMs: 300\nlogLevel: warn\nhealthProbe: { intervalMs: 500, timeoutMs: 500, failures: 2 }\n');
  const router = startOn(f, 'router', 'router', [process.execPath, BIN, 'router', '--host', IP.router, '--port', '18789', '--manifest', BLOB, '--admin-key', adminKey, '--config', join(dir, 'router.yaml')]);
  await listening(router, 'router', f);

  step('tenants');
  // 3. Tenants, created and used through the router.
  const ids = ['acme', 'bolt', 'cask', 'dune', 'fern'];
  const tokens = new Map<string, string>();
  // One through the CLI; the rest through the same control-plane call, to keep the test short.
  tokens.set(ids[0] as string, (await cli<{ token: string }>(f, ['tenants', 'create', ids[0] as string])).token);
  for (const id of ids.slice(1)) {
    const c = await agent({ op: 'create', url: ROUTER_URL, token: adminKey, tenant: id });
    assert.equal(c.status, 201, JSON.stringify(c));
    tokens.set(id, c.token as string);
  }
  const ownerOf = new Map<string, string>();
  for (const id of ids) {
    const chat = await agent({ op: 'chat', url: ROUTER_URL, token: tokens.get(id), text: `hello from ${id}` });
    assert.equal(chat.status, 200, JSON.stringify(chat));
    assert.equal(chat.content, `echo: hello from ${id}`);
    ownerOf.set(id, chat.shard as string);
  }
  assert.ok(new Set(ownerOf.values()).size >= 2, `tenants spread over the shards: ${JSON.stringify([...ownerOf])}`);

  step('backups');
  // 4. Backups to s3:// (the shards write them straight to the S3 host).
  // One through the CLI, the rest through the control plane as a backup scheduler would.
  const viaCli = await cli<{ key: string }>(f, ['tenants', 'backup', ids[0] as string]);
  const viaApi = await Promise.all(ids.slice(1).map((id) => agent({ op: 'backup', url: ROUTER_URL, token: adminKey, tenant: id })));
  assert.match(viaCli.key, new RegExp(`^tenants/${ids[0]}/snapshots/`));
  ids.slice(1).forEach((id, i) => assert.match(String(viaApi[i]?.key), new RegExp(`^tenants/${id}/snapshots/`), JSON.stringify(viaApi[i])));

  step('s4 + rebalance under a writer');
  // 5. A fourth shard host, added and rebalanced while a writer keeps writing to every tenant.
  await startShardHost(f, 's4');
  await agent({ op: 'writer-start', url: ROUTER_URL, tokens: [...tokens.values()] });
  const added = await cli<{ toMove: number }>(f, ['fleet', 'add-shard', 's4', shardUrl('s4')]);
  const rebalanced = await cli<{ done: unknown[]; failed: unknown[] }>(f, ['fleet', 'rebalance']);
  const written = (await agent({ op: 'writer-stop' })) as { acked: Array<{ token: string; key: string }>; errors: unknown[] };
  assert.equal(rebalanced.failed.length, 0);
  assert.equal(rebalanced.done.length, added.toMove);
  assert.deepEqual(written.errors, [], 'the writer saw no error during the rebalance');
  assert.ok(written.acked.length > 0);
  for (const [id, token] of tokens) {
    const got = (await agent({ op: 'labels', url: ROUTER_URL, token })) as { status: number; labels: Record<string, string> };
    assert.equal(got.status, 200);
    for (const w of written.acked.filter((x) => x.token === token)) assert.ok(got.labels[w.key] !== undefined, `${id} lost acknowledged write ${w.key}`);
  }
  for (const id of ids) ownerOf.set(id, (await agent({ op: 'health', url: ROUTER_URL, token: tokens.get(id) })).shard as string);
  assert.ok([...ownerOf.values()].includes('s4') || added.toMove === 0);

  step('link cut');
  // 6. One shard host's link cut: its tenants get a clear error at once-ish, the others are untouched.
  const cut = [...ownerOf.values()].find((s) => s !== 's4') as string;
  ip('-n', NS.lan, 'link', 'set', `p-${SHARD_HOST[cut]}`, 'down');
  for (const id of ids) {
    const h = await agent({ op: 'health', url: ROUTER_URL, token: tokens.get(id), timeoutMs: 15_000 });
    if (ownerOf.get(id) === cut) {
      assert.equal(h.status, 503, `${id} on the cut host: ${JSON.stringify(h)}`);
      assert.equal(h.error, 'ROUTER_SHARD_UNREACHABLE');
      assert.ok((h.ms as number) < 5_000, `answered in ${h.ms} ms`);
    } else {
      assert.deepEqual([h.status, h.tenant], [200, id], `${id} on ${ownerOf.get(id)} is untouched`);
    }
  }
  ip('-n', NS.lan, 'link', 'set', `p-${SHARD_HOST[cut]}`, 'up');
  for (const id of ids.filter((x) => ownerOf.get(x) === cut)) {
    const h = await agent({ op: 'health', url: ROUTER_URL, token: tokens.get(id), until: 200, timeoutMs: 20_000 });
    assert.deepEqual([h.status, h.tenant], [200, id], 'restored');
  }

  step('recover-shard');
  // 7. A shard lost for good: its tenants come back from their newest backups on their new owners.
  const lost = cut;
  const lostTenants = ids.filter((x) => ownerOf.get(x) === lost);
  await stop(f, lost, 'SIGKILL');
  const recovered = await cli<{ committed: boolean; recovered: Array<{ tenant: string; to: string; backupAt: string }> }>(f, ['fleet', 'recover-shard', lost]);
  assert.equal(recovered.committed, true);
  assert.deepEqual(recovered.recovered.map((r) => r.tenant).sort(), [...lostTenants].sort());
  for (const r of recovered.recovered) assert.match(r.backupAt, /^\d{4}-\d\d-\d\dT/);
  for (const id of lostTenants) {
    const h = await agent({ op: 'health', url: ROUTER_URL, token: tokens.get(id), until: 200, timeoutMs: 20_000 });
    assert.deepEqual([h.status, h.tenant], [200, id], `${id} is served again, with its old token`);
    assert.notEqual(h.shard, lost);
  }
  // If the lost machine ever comes back with its disk and the fleet's --blob, it fences those tenants.
  await startShardHost(f, lost);
  for (const id of lostTenants) {
    const direct = await agent({ op: 'health', url: shardUrl(lost), token: tokens.get(id) });
    assert.equal(direct.status, 421, `${id} is fenced on the returning ${lost}`);
  }
});
