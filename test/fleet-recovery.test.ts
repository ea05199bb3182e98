// First run and recovery: fleet init (create-only), a rebalance with nothing to do, a lost shard's
// tenants restored from their newest backups (and fenced if it returns), a stuck freeze thawed safely.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isAppError } from '../router/errors/app-error.ts';
import { openBlobStore } from '../router/blob/open-blob-store.ts';
import { manifestStore } from '../router/manifest/manifest-store.ts';
import { initPlacement } from '../router/placement/rendezvous.ts';
import { initFleet } from '../ops/fleet/fleet-init.ts';
import { rebalance } from '../ops/fleet/rebalance.ts';
import { recoverShard } from '../ops/fleet/recover-shard.ts';
import { thawTenant } from '../ops/fleet/thaw-tenant.ts';
import { JournalWriter } from '../ops/fleet/move-journal.ts';
import { startTestFleet, type TestFleet } from './helpers/fleet-fixture.ts';
import { startTestShard } from './helpers/shard-fixture.ts';

const code = (c: string) => (e: unknown) => isAppError(e) && e.code === c;
const quiet = (): void => undefined;

async function createWith(fleet: TestFleet, id: string, label: string): Promise<string> {
  const res = await fleet.admin('/v1/tenants', { body: { id } });
  assert.equal(res.status, 201, await res.clone().text());
  const token = ((await res.json()) as { token: string }).token;
  await setLabel(fleet, token, 'seed', label);
  return token;
}

async function setLabel(fleet: TestFleet, token: string, key: string, value: string): Promise<void> {
  const w = await fleet.rpc(token, { jsonrpc: '2.0', id: 1, method: 'config.set', params: { path: `labels.${key}`, value } });
  assert.equal(w.status, 200, await w.clone().text());
}

async function labels(fleet: TestFleet, token: string): Promise<{ status: number; labels?: Record<string, string> }> {
  const res = await fleet.rpc(token, { jsonrpc: '2.0', id: 1, method: 'config.get', params: { overlayOnly: true } });
  if (res.status !== 200) return { status: res.status };
  const body = (await res.json()) as { result: { labels?: Record<string, string> } };
  return { status: 200, labels: body.result.labels ?? {} };
}

void test('fleet init writes the first manifest create-only (bucket or directory made if asked); a second init is refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ocmu-init-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const url = pathToFileURL(join(dir, 'blobs')).href;
  const first = await initFleet(url, { createBucket: true });
  assert.deepEqual([first.bucket, first.manifestVersion], ['created', 1]);
  await assert.rejects(initFleet(url, { createBucket: true }), code('FLEET_EXISTS'));
  const blob = openBlobStore(url);
  t.after(() => blob.close());
  assert.deepEqual((await manifestStore(blob).read())?.manifest, { version: 1, shards: [], overrides: {} });
});

void test('a rebalance with nothing to move leaves the manifest version alone', { timeout: 60_000 }, async (t) => {
  const fleet = await startTestFleet(t, { shards: 2 });
  for (const id of ['n1', 'n2', 'n3', 'n4']) await createWith(fleet, id, id);
  const r = await rebalance({ blob: fleet.blob, adminKey: fleet.adminKey, concurrency: 2, dryRun: false, log: quiet });
  assert.deepEqual([r.planned.length, r.manifestVersion], [0, 1]);
  assert.equal((await manifestStore(fleet.blob).read())?.manifest.version, 1);
});

void test('recover-shard: a lost shard’s tenants come back from their newest backups on their new owners, report what they lost, and the returning shard is fenced', { timeout: 120_000 }, async (t) => {
  const fleet = await startTestFleet(t, { shards: 3 });
  const placement = await initPlacement();
  const ids = Array.from({ length: 9 }, (_, i) => `r${i}`);
  const tokens = new Map<string, string>();
  for (const id of ids) tokens.set(id, await createWith(fleet, id, id));
  const v1 = (await manifestStore(fleet.blob).read())!.manifest;
  const onS2 = ids.filter((id) => placement.ownerOf(id, v1) === 's2');
  assert.ok(onS2.length >= 1, 'placement puts some tenants on s2');
  for (const id of ids) assert.equal((await fleet.admin(`/v1/tenants/${id}/backups`, { method: 'POST' })).status, 201);
  // Written after the backup: lost with the shard.
  for (const id of onS2) await setLabel(fleet, tokens.get(id)!, 'late', 'after-backup');

  await assert.rejects(recoverShard({ blob: fleet.blob, adminKey: fleet.adminKey, shardId: 's2', log: quiet }), code('FLEET_SHARD_REACHABLE'));
  const s2 = fleet.shards.get('s2')!;
  await s2.close();

  const r = await recoverShard({ blob: fleet.blob, adminKey: fleet.adminKey, shardId: 's2', log: quiet, probeTimeoutMs: 1000 });
  assert.equal(r.committed, true);
  assert.deepEqual(r.recovered.map((x) => x.tenant), onS2);
  const after = (await manifestStore(fleet.blob).read())!.manifest;
  assert.deepEqual(after.shards.map((s) => s.id), ['s1', 's3']);
  for (const x of r.recovered) {
    assert.match(x.backupAt, /^\d{4}-\d\d-\d\dT/);
    assert.equal(after.overrides[x.tenant]?.shard, x.to);
    assert.ok(x.epoch > v1.version);
  }
  await fleet.router.poller.refresh();
  for (const id of ids) {
    const got = await labels(fleet, tokens.get(id)!);
    assert.equal(got.status, 200, `${id} answers with its old token`);
    assert.equal(got.labels?.['seed'], id);
    assert.equal(got.labels?.['late'], undefined, 'what came after the backup is gone, as reported');
  }

  // The lost shard comes back with its old data and the fleet's blob store: it fences what moved on.
  const back = await startTestShard(t, { dataDir: join(fleet.dir, 's2'), adminKey: fleet.adminKey, config: { id: 's2', blob: fleet.blobUrl, logLevel: 'warn' } });
  for (const id of onS2) {
    const res = await back.rpc(tokens.get(id)!, { jsonrpc: '2.0', id: 1, method: 'health' });
    assert.equal(res.status, 421, `${id} is fenced on the returning shard`);
  }
  // A later rebalance keeps those overrides (they carry the fencing epoch) and writes nothing.
  const rb = await rebalance({ blob: fleet.blob, adminKey: fleet.adminKey, concurrency: 2, dryRun: false, log: quiet });
  assert.equal(rb.manifestVersion, after.version);
  for (const id of onS2) assert.ok(Object.hasOwn((await manifestStore(fleet.blob).read())!.manifest.overrides, id));
});

void test('tenants thaw ends a stuck freeze on the manifest owner, and refuses while a move of it is in flight', { timeout: 60_000 }, async (t) => {
  const fleet = await startTestFleet(t, { shards: 1 });
  const token = await createWith(fleet, 'stuck', 'x');
  const s1 = fleet.shards.get('s1')!;
  assert.equal((await s1.admin('/v1/tenants/stuck/freeze', { method: 'POST' })).status, 200);
  const now = new Date().toISOString();
  const writer = await JournalWriter.start(fleet.blob, { id: 'j1', createdAt: now, reason: 'test', finished: false, moves: [{ tenant: 'stuck', from: 's1', to: 's9', state: 'frozen', sourceMarked: false, updatedAt: now }] }, null);
  await assert.rejects(thawTenant(fleet.blob, fleet.adminKey, 'stuck'), code('TENANT_THAW_REFUSED'));
  await writer.finish();
  assert.deepEqual(await thawTenant(fleet.blob, fleet.adminKey, 'stuck'), { tenant: 'stuck', shard: 's1', outcome: 'thawed' });
  assert.equal((await labels(fleet, token)).status, 200);
  assert.equal((await thawTenant(fleet.blob, fleet.adminKey, 'stuck')).outcome, 'not-frozen');
});
