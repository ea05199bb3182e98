// A rolling upgrade of the shards as docs/upgrading.md describes it, with real shard and router
// processes: one shard at a time is drained (remove-shard: its tenants move away under the writers),
// stopped (SIGTERM, exit 0), started again on its data directory (the new version's start-up checks
// and migrates the data format), added back and rebalanced. Writers through the router see no error,
// and every acknowledged write is at its tenant's final owner.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mintAdminKey } from '../router/identity/tenant-id.ts';
import { openBlobStore } from '../router/blob/open-blob-store.ts';
import { manifestStore } from '../router/manifest/manifest-store.ts';
import { initPlacement } from '../router/placement/rendezvous.ts';
import { addShard, drainShard } from '../ops/fleet/fleet-edits.ts';
import { rebalance } from '../ops/fleet/rebalance.ts';
import { startChild, type FleetChild } from '../ops/dev/child-process.ts';
import { tempDir } from './helpers/shard-fixture.ts';

test('rolling upgrade of 3 shard processes under writers: nothing lost, no client error', { timeout: 600_000 }, async (t) => {
  const dir = tempDir(t, 'ocmu-rolling-');
  const blobUrl = `file://${join(dir, 'blobs')}`;
  mkdirSync(join(dir, 'blobs'));
  mkdirSync(join(dir, 'logs'));
  const blob = openBlobStore(blobUrl);
  t.after(() => blob.close());
  const adminKey = mintAdminKey();
  const env = { ...process.env, OPENCLAWMU_ADMIN_KEY: adminKey };
  const running = new Map<string, FleetChild>();
  t.after(() => Promise.all([...running.values()].map((c) => c.stop())));
  const startShardProcess = async (id: string): Promise<FleetChild> => {
    const c = await startChild(id, ['shard', '--id', id, '--port', '0', '--data', join(dir, id), '--blob', blobUrl], join(dir, 'logs', `${id}.log`), env);
    running.set(id, c);
    return c;
  };
  for (const id of ['s1', 's2', 's3']) await startShardProcess(id);
  await manifestStore(blob).write({ version: 1, shards: [...running.values()].map((c) => ({ id: c.name, url: c.url, weight: 1 })), overrides: {} }, null);
  // The machine is shared: a generous hold keeps this test about correctness, not fsync latency.
  const routerConfig = join(dir, 'router.yaml');
  writeFileSync(routerConfig, 'pollIntervalMs: 200\nlogLevel: warn\nlimits:\n  holdLimitMs: 60000\n');
  const router = await startChild('router', ['router', '--port', '0', '--manifest', blobUrl, '--config', routerConfig], join(dir, 'logs', 'router.log'), env);
  running.set('router', router);

  const post = (path: string, auth: string, body: unknown): Promise<Response> =>
    fetch(`${router.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const tokens = new Map<string, string>();
  for (let i = 0; i < 6; i++) {
    const res = await post('/v1/tenants', adminKey, { id: `t${i}` });
    assert.equal(res.status, 201, await res.clone().text());
    tokens.set(`t${i}`, ((await res.json()) as { token: string }).token);
  }

  const acked = new Map<string, string[]>([...tokens.keys()].map((id) => [id, []]));
  const bad: string[] = [];
  let stop = false;
  let n = 0;
  const writers = [...tokens].map(async ([id, token]) => {
    while (!stop) {
      const key = `w${n++}`;
      const res = await post('/rpc', token, { jsonrpc: '2.0', id: 1, method: 'config.set', params: { path: `labels.${key}`, value: key } });
      const text = await res.text();
      const body = res.status === 200 ? (JSON.parse(text) as { result?: unknown }) : {};
      if (body.result !== undefined) acked.get(id)?.push(key);
      else bad.push(`${id} ${res.status} ${text.slice(0, 160)}`);
    }
  });
  const ackedCount = (): number => [...acked.values()].reduce((s, x) => s + x.length, 0);
  const waitForAcks = async (atLeast: number): Promise<void> => {
    while (ackedCount() < atLeast && bad.length === 0) await new Promise((r) => setTimeout(r, 20));
  };
  await waitForAcks(30);

  for (const id of ['s1', 's2', 's3']) {
    // 1. Drain: its tenants move to the other shards while the writers run.
    await drainShard(blob, adminKey, id);
    const out = await rebalance({ blob, adminKey, concurrency: 2, dryRun: false, log: () => {}, reason: `upgrade ${id}` });
    assert.deepEqual(out.failed, [], `draining ${id}`);
    assert.deepEqual(out.removedShards, [id]);
    // 2. Stop it: SIGTERM drains in-flight requests and closes every database; exit 0.
    const old = running.get(id)!;
    await old.stop();
    assert.equal(await old.exited, 0, `${id} stopped cleanly`);
    // 3. Start the new version on the same data directory, add it back, move its tenants home.
    const upgraded = await startShardProcess(id);
    await addShard(blob, adminKey, { id, url: upgraded.url, weight: 1 });
    const back = await rebalance({ blob, adminKey, concurrency: 2, dryRun: false, log: () => {}, reason: `upgraded ${id}` });
    assert.deepEqual(back.failed, [], `bringing ${id} back`);
    await waitForAcks(ackedCount() + 10);
  }
  stop = true;
  await Promise.all(writers);
  assert.deepEqual(bad, [], 'a client saw an error');

  const manifest = (await manifestStore(blob).read())?.manifest;
  assert.ok(manifest !== undefined);
  assert.deepEqual(manifest.shards.map((s) => s.id).sort(), ['s1', 's2', 's3']);
  const placement = await initPlacement();
  for (const [id, token] of tokens) {
    const owner = running.get(placement.ownerOf(id, manifest) ?? '');
    assert.ok(owner !== undefined, `${id} has no owner`);
    const res = await fetch(`${owner.url}/rpc`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'config.get' }) });
    assert.equal(res.status, 200, `${id} at ${owner.name}`);
    const labels = ((await res.json()) as { result: { labels?: Record<string, string> } }).result.labels ?? {};
    for (const key of acked.get(id) ?? []) assert.equal(labels[key], key, `${id}: acknowledged ${key} lost`);
  }
});
