// The CLI end to end against a real shard: tenants backup --json, backups, restore --as (new token), refusals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Writable } from 'node:stream';
import { mintAdminKey } from '../../router/index.ts';
import { startShard } from '../../shard/app/start-shard.ts';
import { sha256Hex } from '../../shard/auth/token-hash.ts';
import { parseShardConfig } from '../../shard/config/shard-config.ts';
import { createLogger } from '../../shard/observability/logger.ts';

const BIN = new URL('../bin/openclawmu.mjs', import.meta.url).pathname;

function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

void test('openclawmu tenants backup / backups / restore --as / restore without --force', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'ocm-backup-cli-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const adminKey = mintAdminKey();
  const config = parseShardConfig({
    id: 's1',
    port: 0,
    dataDir: join(root, 'data'),
    logLevel: 'warn',
    adminKeyHashes: [sha256Hex(adminKey)],
    blob: pathToFileURL(join(root, 'blobs')).href,
  });
  const log = createLogger({ level: 'warn', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
  const shard = await startShard(config, { log });
  t.after(() => shard.close());
  const env = { OPENCLAWMU_URL: shard.url, OPENCLAWMU_ADMIN_KEY: adminKey };
  const created = await fetch(`${shard.url}/v1/tenants`, { method: 'POST', headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' }, body: '{"id":"acme"}' });
  assert.equal(created.status, 201);

  const backup = await cli(['tenants', 'backup', 'acme', '--json', '--data', root], env);
  assert.equal(backup.code, 0, backup.stderr);
  const b = JSON.parse(backup.stdout) as { key: string; bytes: number; sha256: string };
  assert.match(b.key, /^tenants\/acme\/snapshots\//);
  assert.ok(b.bytes > 0);
  assert.match(b.sha256, /^[0-9a-f]{64}$/);
  assert.match(backup.stderr, /copy|upload/, 'progress is reported on stderr');

  const list = await cli(['tenants', 'backups', 'acme', '--data', root], env);
  assert.equal(list.code, 0, list.stderr);
  assert.ok(list.stdout.includes(b.key));
  // Straight from the blob store, no fleet involved.
  const direct = await cli(['tenants', 'backups', 'acme', '--json', '--blob', pathToFileURL(join(root, 'blobs')).href], {});
  assert.equal(direct.code, 0, direct.stderr);
  assert.deepEqual((JSON.parse(direct.stdout) as { backups: { key: string }[] }).backups.map((x) => x.key), [b.key]);

  const restored = await cli(['tenants', 'restore', '--from', b.key, '--as', 'acme2', '--json', '--data', root], env);
  assert.equal(restored.code, 0, restored.stderr);
  const r = JSON.parse(restored.stdout) as { id: string; token: string };
  assert.equal(r.id, 'acme2');
  assert.match(r.token, /^tk_acme2_[0-9a-f]{32}$/);
  const rpc = await fetch(`${shard.url}/rpc`, { method: 'POST', headers: { authorization: `Bearer ${r.token}`, 'content-type': 'application/json' }, body: '{"jsonrpc":"2.0","id":1,"method":"tenants.get"}' });
  assert.equal(((await rpc.json()) as { result: { id: string } }).result.id, 'acme2');

  const refused = await cli(['tenants', 'restore', '--from', b.key, '--json', '--data', root], env);
  assert.equal(refused.code, 2);
  assert.equal((JSON.parse(refused.stdout) as { error: { code: string } }).error.code, 'SNAPSHOT_TARGET_EXISTS');
});
