// Upgrades keep tenant data: a data directory written by main before formats were recorded
// (test/fixtures/data-format-1) is migrated forward and serves its tenant as before; a directory or
// a tenant newer than this version knows is refused with SHARD_DATA_FORMAT_NEWER and left untouched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseShardConfig } from '../config/shard-config.ts';
import { startShard } from '../app/start-shard.ts';
import { createLogger } from '../observability/logger.ts';
import { verifyAuditText } from '../audit/audit-verify.ts';
import { startTestShard, tempDir } from '../../test/helpers/shard-fixture.ts';
import { DATA_FORMAT, prepareDataDir } from './data-format.ts';

const FIXTURE = new URL('../../test/fixtures/data-format-1/data/', import.meta.url).pathname;
const FIXTURE_ADMIN_KEY = 'ak_0123456789abcdef0123456789abcdef';
const FIXTURE_TOKEN = 'tk_acme_8510ff08de41fdcb7d395e094ef699a0';
const BIN = new URL('../../ops/bin/openclawmu.mjs', import.meta.url).pathname;

function copyFixture(dir: string): string {
  const data = join(dir, 'data');
  cpSync(FIXTURE, data, { recursive: true });
  return data;
}

const formatOf = (data: string): unknown => JSON.parse(readFileSync(join(data, 'format.json'), 'utf8'));

test('a data directory from before format versions is migrated and serves its tenant as before', async (t) => {
  const data = copyFixture(tempDir(t));
  const shard = await startTestShard(t, { dataDir: data, adminKey: FIXTURE_ADMIN_KEY, config: { logLevel: 'warn' } });
  assert.deepEqual(formatOf(data), { dataFormat: DATA_FORMAT });
  assert.ok(shard.logs.some((l) => l.includes('data directory migrated')));

  const info = (await (await shard.admin('/v1/tenants/acme')).json()) as { id: string; displayName: string };
  assert.equal(info.displayName, 'Acme');
  // The usage ledger row the old version wrote (on 2026-11-29) is still billed.
  const bill = (await (await shard.admin('/v1/tenants/acme/billing?from=2026-11-01&to=2026-12-01&rows=false')).json()) as { totals: { requests: number } };
  assert.equal(bill.totals?.requests, 1, JSON.stringify(bill));
  // The token written by the old version still authenticates, and the tenant still chats.
  const chat = await fetch(`${shard.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${FIXTURE_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'echo', messages: [{ role: 'user', content: 'still here' }] }),
  });
  assert.equal(chat.status, 200);
  const created = await shard.admin('/v1/tenants', { body: { id: 'newco' } });
  assert.equal(created.status, 201);
  await shard.close();
  // The old audit chain continues unbroken across the upgrade.
  assert.equal(verifyAuditText(readFileSync(join(data, 'audit.log'), 'utf8')).ok, true);
  // Idempotent: a second start finds the current format and migrates nothing.
  assert.deepEqual(prepareDataDir(data), { found: DATA_FORMAT, tenantsMigrated: [] });
});

test('a new data directory is stamped with the current format', (t) => {
  const data = join(tempDir(t), 'fresh');
  mkdirSync(data);
  assert.deepEqual(prepareDataDir(data), { found: DATA_FORMAT, tenantsMigrated: [] });
  assert.deepEqual(formatOf(data), { dataFormat: DATA_FORMAT });
});

test('a data directory newer than this version is refused with SHARD_DATA_FORMAT_NEWER, untouched', async (t) => {
  const data = copyFixture(tempDir(t));
  writeFileSync(join(data, 'format.json'), `${JSON.stringify({ dataFormat: DATA_FORMAT + 1 })}\n`);
  const config = parseShardConfig({ id: 's1', port: 0, dataDir: data, logLevel: 'silent' });
  await assert.rejects(startShard(config, { log: createLogger({ level: 'silent' }) }), (err: { code?: string; details?: { found?: number } }) => {
    assert.equal(err.code, 'SHARD_DATA_FORMAT_NEWER');
    assert.equal(err.details?.found, DATA_FORMAT + 1);
    return true;
  });
  assert.deepEqual(formatOf(data), { dataFormat: DATA_FORMAT + 1 });
  // The operator sees the code and what to do, and the command exits 2.
  const r = spawnSync(process.execPath, [BIN, 'shard', '--id', 's1', '--port', '0', '--data', data], { encoding: 'utf8', env: { ...process.env, OPENCLAWMU_ADMIN_KEY: FIXTURE_ADMIN_KEY } });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /error SHARD_DATA_FORMAT_NEWER: .*format\.json has format \d+; this openclawmu knows formats up to \d+/);
});

test('a tenant directory newer than this version is refused before anything is migrated', (t) => {
  const data = copyFixture(tempDir(t));
  const record = join(data, 'tenants', 'acme', 'tenant.json');
  writeFileSync(record, JSON.stringify({ ...(JSON.parse(readFileSync(record, 'utf8')) as object), formatVersion: 2 }));
  assert.throws(() => prepareDataDir(data), (err: { code?: string; details?: { path?: string } }) => err.code === 'SHARD_DATA_FORMAT_NEWER' && err.details?.path === record);
  assert.throws(() => readFileSync(join(data, 'format.json')), { code: 'ENOENT' });
});
