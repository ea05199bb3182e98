// The targets of the router-overhead benchmark: one shard, and the router, HAProxy and a bare Node
// proxy in front of it, each started (and under --pin put on its CPU) and owned for cleanup.
import { type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { mintAdminKey } from '../../router/identity/tenant-id.ts';
import { startChild, type FleetChild } from '../../ops/dev/child-process.ts';
import type { ChildOwner } from './load-child.ts';
import type { TargetKey } from './overhead-summary.ts';
import { allowedCpus, pinToCpu } from './proc-cpu.ts';

/** Under --pin: the proxies' CPU; the shard and the load generators run on LOAD_CPU. */
export const PROXY_CPU = 1;
export const LOAD_CPU = 0;
const BARE_PROXY = new URL('../bare-node-proxy.mjs', import.meta.url).pathname;

export interface Target {
  key: TargetKey;
  label: string;
  url: string;
  /** The proxy process under test; undefined for the direct target. */
  proxyPid: number | undefined;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((ok) => s.close(() => ok()));
  return port;
}

async function waitForPort(port: number, child: ChildProcess, deadlineMs = 10_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${child.spawnfile} exited with ${child.exitCode} before port ${port} opened`);
    const ok = await new Promise<boolean>((res) => {
      const c = connect(port, '127.0.0.1', () => (c.end(), res(true)));
      c.on('error', () => res(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`port ${port} did not open`);
    await sleep(50);
  }
}

function writeFile(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function haproxyConfig(port: number, shardHostPort: string): string {
  return [
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
    `  bind 127.0.0.1:${port}`,
    '  default_backend shards',
    'backend shards',
    '  balance hdr(authorization)',
    '  hash-type consistent',
    '  http-reuse always',
    `  server s1 ${shardHostPort} maxconn 64`,
    '',
  ].join('\n');
}

/** Starts the shard, the router, HAProxy and the bare Node proxy; under --pin, each on its CPU. */
export async function startTargets({ pin, dir, owner, fleet, haproxyVersion }: { pin: boolean; dir: string; owner: ChildOwner; fleet: FleetChild[]; haproxyVersion: string }) {
  const pinTo = (cpu: number): number | undefined => (pin ? cpu : undefined);
  const env = { ...process.env };
  const adminKey = mintAdminKey();
  mkdirSync(join(dir, 'logs'));
  const shard = await startChild('s1', ['shard', '--id', 's1', '--port', '0', '--data', join(dir, 's1'), '--admin-key', adminKey, '--config', writeFile(dir, 'shard.yaml', 'logLevel: warn\n')], join(dir, 'logs', 's1.log'), env);
  fleet.push(shard);
  if (pin) pinToCpu(shard.pid, LOAD_CPU);
  const manifest = writeFile(dir, 'manifest.json', JSON.stringify({ version: 1, shards: [{ id: 's1', url: shard.url, weight: 1 }], overrides: {} }));
  const router = await startChild('router', ['router', '--port', '0', '--manifest', manifest, '--log-level', 'warn'], join(dir, 'logs', 'router.log'), env);
  fleet.push(router);
  if (pin) pinToCpu(router.pid, PROXY_CPU);

  const hport = await freePort();
  const cfg = writeFile(dir, 'haproxy.cfg', haproxyConfig(hport, shard.url.replace('http://', '')));
  const haproxy = owner.spawn('haproxy', ['-f', cfg, '-db'], pinTo(PROXY_CPU), ['ignore', 'ignore', 'inherit']);
  await waitForPort(hport, haproxy);

  // A bare Node proxy (undici, no router logic): the floor any Node router starts from.
  const bare = owner.spawn(process.execPath, [BARE_PROXY, shard.url], pinTo(PROXY_CPU), ['ignore', 'pipe', 'inherit']);
  const barePort = await new Promise<number>((resolve, reject) => {
    bare.stdout?.once('data', (d: Buffer) => resolve((JSON.parse(d.toString()) as { port: number }).port));
    bare.once('exit', (code) => reject(new Error(`bare proxy exited ${code}`)));
    bare.once('error', reject);
  });

  const created = await fetch(`${shard.url}/v1/tenants`, { method: 'POST', headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ id: 'bench' }) });
  if (!created.ok) throw new Error(`creating the bench tenant failed: ${created.status} ${await created.text()}`);
  const { token } = (await created.json()) as { token: string };
  const targets: Target[] = [
    { key: 'direct', label: 'direct (client → shard)', url: shard.url, proxyPid: undefined },
    { key: 'router', label: 'openclawmu router → shard', url: router.url, proxyPid: router.pid },
    { key: 'haproxy', label: `HAProxy ${haproxyVersion} → shard`, url: `http://127.0.0.1:${hport}`, proxyPid: haproxy.pid },
    { key: 'bare', label: 'bare Node proxy (undici) → shard', url: `http://127.0.0.1:${barePort}`, proxyPid: bare.pid },
  ];
  const affinity = {
    orchestrator: allowedCpus(process.pid),
    shard: allowedCpus(shard.pid),
    router: allowedCpus(router.pid),
    haproxy: haproxy.pid === undefined ? [] : allowedCpus(haproxy.pid),
    bare: bare.pid === undefined ? [] : allowedCpus(bare.pid),
  };
  return { targets, token, shardPid: shard.pid, affinity };
}
