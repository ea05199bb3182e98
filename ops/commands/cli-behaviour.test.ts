// How the CLI behaves when things are not fine (issue 17): busy ports said as such, free ports for
// dev shards, one error message (not two), exit code 3 for an incomplete answer, sizes in units.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server, type AddressInfo } from 'node:net';
import { startRouter, createRouterLogger } from '../../router/node/start-router.ts';
import { parseRouterConfig } from '../../router/node/router-config.ts';
import { startTestFleet } from '../../test/helpers/router-fleet-fixture.ts';
import { tempDir } from '../../test/helpers/shard-fixture.ts';
import { formatBytes } from '../output.ts';

const BIN = new URL('../bin/openclawmu.mjs', import.meta.url).pathname;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function spawnCli(args: string[]): { child: ChildProcess; done: Promise<Run>; stdout: () => string } {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, OPENCLAWMU_URL: '', OPENCLAWMU_ADMIN_KEY: '' } });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Run>((resolve) => child.once('close', (code, signal) => resolve({ code, stdout: stdout + (signal === null ? '' : `\n[signal ${signal}]`), stderr })));
  return { child, done, stdout: () => stdout };
}

const cli = (args: string[]): Promise<Run> => spawnCli(args).done;

/** A TCP port held by someone else for the test's duration. */
async function takenPort(t: TestContext): Promise<number> {
  const s: Server = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  t.after(() => new Promise<void>((r) => s.close(() => r())));
  return (s.address() as AddressInfo).port;
}

void test('regression issue 17: a busy router port is "port in use" (exit 2, said once), for `router` and for `dev`', { timeout: 60_000 }, async (t) => {
  const port = await takenPort(t);
  const dir = tempDir(t, 'ocmu-cli-');
  const router = await cli(['router', '--port', String(port), '--manifest', `${dir}/manifest.json`, '--log-level', 'silent']);
  assert.equal(router.code, 2, router.stderr);
  assert.match(router.stderr, /^error LISTEN_ADDRESS_IN_USE: Port in use: 127\.0\.0\.1:\d+ /m);
  const dev = await cli(['dev', '--shards', '1', '--port', String(port), '--data', `${dir}/dev`]);
  assert.equal(dev.code, 2, dev.stderr);
  assert.match(dev.stderr, /^error LISTEN_ADDRESS_IN_USE: router: Port in use/m);
  assert.equal(dev.stderr.match(/Port in use/g)?.length, 1, `said once: ${dev.stderr}`);
});

/** Holds `port` for the test if it is free; true when someone (this test or another process) holds it. */
async function hold(t: TestContext, port: number): Promise<void> {
  const s: Server = createServer();
  const ok = await new Promise<boolean>((r) => s.once('error', () => r(false)).listen(port, '127.0.0.1', () => r(true)));
  if (ok) t.after(() => new Promise<void>((r) => s.close(() => r())));
}

void test('regression issue 17: `dev --port P` runs when P+1, P+2 are taken: shards take free ports', { timeout: 180_000 }, async (t) => {
  // A free P (the OS picks it), then P+1 and P+2 held.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  await hold(t, port + 1);
  await hold(t, port + 2);
  const held = port + 1;
  const dir = tempDir(t, 'ocmu-dev-');
  const run = spawnCli(['dev', '--shards', '2', '--port', String(port), '--data', dir]);
  t.after(() => run.child.kill('SIGKILL'));
  while (!run.stdout().includes('Ctrl-C stops everything')) {
    const ended = await Promise.race([once(run.child.stdout!, 'data').then(() => false), run.done.then(() => true)]);
    if (ended) break;
  }
  assert.match(run.stdout(), new RegExp(`router\\s+http://127\\.0\\.0\\.1:${port}`), run.stdout() + (await Promise.race([run.done, Promise.resolve(null)]))?.stderr);
  const shardPorts = [...run.stdout().matchAll(/shard s\d\s+http:\/\/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
  assert.equal(shardPorts.length, 2);
  assert.ok(!shardPorts.includes(held) && !shardPorts.includes(held + 1));
  run.child.kill('SIGINT');
  const ended = await run.done;
  assert.equal(ended.code, 0, ended.stdout.slice(-300) + ended.stderr.slice(-500));
});

void test('regression issue 17: `tenants list` with a shard down exits 3 (like `fleet status`), the table and warning still printed', { timeout: 60_000 }, async (t) => {
  const fleet = await startTestFleet(t, 2);
  const router = await startRouter(parseRouterConfig({ port: 0, manifest: fleet.manifestPath, logLevel: 'silent', adminKeyHashes: [createHash('sha256').update(fleet.adminKey).digest('hex')] }), { log: createRouterLogger('silent') });
  t.after(() => router.close());
  for (const id of ['a1', 'b2', 'c3']) {
    const res = await fetch(`${router.url}/v1/tenants`, { method: 'POST', headers: { authorization: `Bearer ${fleet.adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ id }) });
    assert.equal(res.status, 201);
  }
  const args = ['tenants', 'list', '--url', router.url, '--admin-key', fleet.adminKey];
  const whole = await cli(args);
  assert.equal(whole.code, 0, whole.stderr);
  await fleet.shards[1]!.close();
  const partial = await cli(args);
  assert.equal(partial.code, 3, partial.stderr);
  assert.match(partial.stdout, /warning: shards not answering/);
  const json = await cli([...args, '--json']);
  assert.equal(json.code, 3);
  assert.deepEqual((JSON.parse(json.stdout) as { unavailableShards: string[] }).unavailableShards, ['s2']);
  // A router that is not there: exit 2 with its code, one message.
  const gone = await cli(['tenants', 'list', '--url', 'http://127.0.0.1:1', '--admin-key', fleet.adminKey]);
  assert.equal(gone.code, 2);
  assert.equal(gone.stderr.trim().split('\n').length, 1, gone.stderr);
});

void test('backup sizes are shown in units that fit', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(900), '900 B');
  assert.equal(formatBytes(12_345), '12.1 KiB');
  assert.equal(formatBytes(5 * 1024 * 1024), '5.0 MiB');
  assert.equal(formatBytes(3.5 * 1024 ** 3), '3.5 GiB');
});
