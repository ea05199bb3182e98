// The operator CLI against a real router and real shards: tenants create|list|info|update|rotate|delete, fleet status.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startRouter, createRouterLogger } from '../../router/node/start-router.ts';
import { parseRouterConfig } from '../../router/node/router-config.ts';
import { sha256Hex } from '../../shard/auth/token-hash.ts';
import { startTestFleet } from '../../test/helpers/router-fleet-fixture.ts';
import { tempDir } from '../../test/helpers/shard-fixture.ts';
import { buildProgram } from '../cli.ts';

const BIN = fileURLToPath(new URL('../bin/openclawmu.mjs', import.meta.url));

class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/**
 * Runs the CLI in this process (a spawned one costs seconds of TypeScript compilation): stdout,
 * stderr and process.exit are captured for the call. Only a few calls below spawn the real binary.
 */
async function cliInProcess(args: string[], env: Record<string, string> = {}, cwd?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const saved = { out: process.stdout.write, err: process.stderr.write, exit: process.exit, cwd: process.cwd(), env: { ...process.env }, exitCode: process.exitCode };
  process.stdout.write = ((chunk: string) => ((stdout += chunk), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => ((stderr += chunk), true)) as typeof process.stderr.write;
  process.exit = ((code?: number) => {
    throw new Exit(code ?? 0);
  }) as typeof process.exit;
  for (const [k, v] of Object.entries(env)) process.env[k] = v;
  if (cwd !== undefined) process.chdir(cwd);
  let code = 0;
  try {
    process.exitCode = undefined;
    await (await buildProgram()).exitOverride().parseAsync(['node', 'openclawmu', ...args]);
    code = typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    code = err instanceof Exit ? err.code : 1;
    if (!(err instanceof Exit)) stderr += String(err);
  } finally {
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
    process.exit = saved.exit;
    process.exitCode = saved.exitCode;
    process.chdir(saved.cwd);
    for (const k of Object.keys(env)) {
      if (saved.env[k] === undefined) delete process.env[k];
      else process.env[k] = saved.env[k];
    }
  }
  return { code, stdout, stderr };
}

function cli(args: string[], env: Record<string, string> = {}, cwd?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, cwd, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
    });
  });
}

void test('tenants and fleet commands through the router: --json for scripts, tables for people, codes on errors', async (t) => {
  const fleet = await startTestFleet(t, 2);
  const router = await startRouter(parseRouterConfig({ port: 0, manifest: fleet.manifestPath, adminKeyHashes: [sha256Hex(fleet.adminKey)], logLevel: 'silent' }), { log: createRouterLogger('silent') });
  t.after(() => router.close());
  const common = ['--url', router.url, '--admin-key', fleet.adminKey];
  const cwd = tempDir(t, 'ocmu-cli-'); // no .openclawmu/dev.json here

  const created = await cli(['tenants', 'create', 'acme', '--display-name', 'Acme', '--quota', 'requestsPerMinute=60', ...common, '--json'], {}, cwd);
  assert.equal(created.code, 0, created.stderr);
  const c = JSON.parse(created.stdout) as { id: string; token: string; shard: string };
  assert.match(c.token, /^tk_acme_[0-9a-f]{32}$/);

  // Env instead of flags; a person's table.
  const info = await cliInProcess(['tenants', 'info', 'acme', '--json'], { OPENCLAWMU_URL: router.url, OPENCLAWMU_ADMIN_KEY: fleet.adminKey }, cwd);
  const list = await cliInProcess(['tenants', 'list', ...common], {}, cwd);
  const noKey = await cliInProcess(['tenants', 'list', '--url', router.url], {}, cwd);
  const unreachable = await cliInProcess(['tenants', 'list', '--url', 'http://127.0.0.1:1', '--admin-key', fleet.adminKey], {}, cwd);
  assert.equal(info.code, 0, info.stderr);
  const view = JSON.parse(info.stdout) as { id: string; shard: string; quota: Record<string, number>; displayName: string };
  assert.deepEqual([view.id, view.shard, view.displayName, view.quota['requestsPerMinute']], ['acme', c.shard, 'Acme', 60]);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^id\s+shard\s+state\s+name\s+created/m);
  assert.match(list.stdout, new RegExp(`^acme\\s+${c.shard}\\s+owned\\s+Acme`, 'm'));
  // The real binary: the exit code and the error line a script would see.
  const dup = await cli(['tenants', 'create', 'acme', ...common], {}, cwd);
  assert.equal(dup.code, 2);
  assert.match(dup.stderr, /^error SHARD_TENANT_EXISTS: /);
  assert.notEqual(noKey.code, 0);
  assert.match(noKey.stderr, /error AUTH_(REQUIRED|INVALID)/);
  assert.equal(unreachable.code, 2);
  assert.match(unreachable.stderr, /^error ROUTER_UNREACHABLE: cannot reach/);

  const updated = await cliInProcess(['tenants', 'update', 'acme', '--disable', '--quota', 'requestsPerMinute=null', ...common, '--json'], {}, cwd);
  const rotated = await cliInProcess(['tenants', 'rotate', 'acme', '--grace', '60', ...common, '--json'], {}, cwd);
  const status = await cliInProcess(['fleet', 'status', ...common, '--json'], {}, cwd);
  const wrongKey = await cliInProcess(['fleet', 'status', '--url', router.url, '--admin-key', `ak_${'0'.repeat(32)}`, '--json'], {}, cwd);
  assert.equal(updated.code, 0, updated.stderr);
  const u = JSON.parse(updated.stdout) as { disabled: boolean; quota: Record<string, unknown> };
  assert.equal(u.disabled, true);
  assert.deepEqual(u.quota, {});
  assert.equal(rotated.code, 0, rotated.stderr);
  const r = JSON.parse(rotated.stdout) as { token: string; graceUntil: string | null };
  assert.notEqual(r.token, c.token);
  assert.ok(r.graceUntil !== null);
  assert.equal(status.code, 0, status.stderr);
  const st = JSON.parse(status.stdout) as { manifest: { version: number }; shards: { id: string; status: string }[]; tenants: number };
  assert.deepEqual(st.shards.map((s) => s.status), ['up', 'up']);
  assert.equal(st.tenants, 1);
  assert.equal(wrongKey.code, 2);
  assert.equal((JSON.parse(wrongKey.stdout) as { error: { code: string } }).error.code, 'AUTH_INVALID');

  const refused = await cliInProcess(['tenants', 'delete', 'acme', ...common], {}, cwd);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /^error CONFIRM_REQUIRED: /);
  const deleted = await cliInProcess(['tenants', 'delete', 'acme', '--yes', ...common], {}, cwd);
  assert.equal(deleted.code, 0, deleted.stderr);
  const gone = await cliInProcess(['tenants', 'info', 'acme', ...common, '--json'], {}, cwd);
  assert.equal(gone.code, 2);
  assert.equal((JSON.parse(gone.stdout) as { error: { code: string } }).error.code, 'SHARD_TENANT_NOT_FOUND');
});
