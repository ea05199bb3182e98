// `openclawmu shard`: config errors name the field (no stack trace); SIGTERM drains and exits 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { mintAdminKey } from '../router/identity/tenant-id.ts';
import { tempDir } from './helpers/shard-fixture.ts';

const bin = new URL('../ops/bin/openclawmu.mjs', import.meta.url).pathname;

test('a bad config file is a clear error naming the field, exit 2, no stack trace', (t) => {
  const dir = tempDir(t);
  const cases: Array<[string, RegExp]> = [
    ['limits:\n  bodyLimitBytes: -5\n', /CONFIG_INVALID: .*limits\.bodyLimitBytes/],
    ['port: "eighty"\n', /CONFIG_INVALID: .*port/],
    ['unknownKey: 1\n', /CONFIG_INVALID: .*unknownKey|Unrecognized key/],
    ['tenantDefaults:\n  memory:\n    vectorWeight: 7\n', /CONFIG_INVALID: .*tenantDefaults\.memory\.vectorWeight/],
    [': : :\n  - [\n', /CONFIG_INVALID: .*not valid YAML/],
  ];
  for (const [yaml, expected] of cases) {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, yaml);
    const r = spawnSync(process.execPath, [bin, 'shard', '--config', file, '--data', join(dir, 'data')], { encoding: 'utf8' });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, expected);
    assert.ok(!/\n\s+at /.test(r.stderr), `stack trace printed:\n${r.stderr}`);
  }
  const badKey = spawnSync(process.execPath, [bin, 'shard', '--admin-key', 'letmein', '--data', join(dir, 'data')], { encoding: 'utf8' });
  assert.equal(badKey.status, 2);
  assert.match(badKey.stderr, /admin keys look like ak_/);
  assert.ok(!badKey.stderr.includes('letmein'), 'the rejected key is not echoed');
});

test('SIGTERM: stops accepting, drains, closes databases, exits 0', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const adminKey = mintAdminKey();
  const child = spawn(process.execPath, [bin, 'shard', '--port', '0', '--data', dir, '--admin-key', adminKey], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  child.stderr.resume();
  const rl = createInterface({ input: child.stdout });
  const url = await new Promise<string>((resolve) => {
    rl.on('line', (line) => {
      if (line.startsWith('{"event":"listening"')) resolve((JSON.parse(line) as { url: string }).url);
    });
  });
  const res = await fetch(`${url}/v1/tenants`, { method: 'POST', headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' }, body: '{"id":"term"}' });
  assert.equal(res.status, 201);
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  assert.equal(await exit, 0);
});
