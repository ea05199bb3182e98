// Memory moves with its tenant: search answers are the same after a move between shards and after
// a backup restored under a new id (memory.db travels through the SQLite backup API and the snapshot).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addShard } from '../ops/fleet/fleet-edits.ts';
import { rebalance } from '../ops/fleet/rebalance.ts';
import { startTestFleet } from './helpers/fleet-fixture.ts';

const DOCS = [
  'The deploy runbook: drain the shard, then rebalance, then stop the process.',
  'Billing exports are CSV with stable columns; finance imports them monthly.',
  'Our staging cluster runs in the Frankfurt region on two small machines.',
  'Rotate tenant tokens with a grace period when clients cannot update at once.',
];
const QUERIES = ['how do I remove a shard', 'finance csv', 'where is staging', 'token rotation grace'];

test('memory search results are unchanged after a move and after a backup/restore', { timeout: 120_000 }, async (t) => {
  const fleet = await startTestFleet(t, { shards: 1 });
  const created = (await (await fleet.admin('/v1/tenants', { body: { id: 'mem' } })).json()) as { token: string };
  const call = async (token: string, method: string, params: unknown): Promise<unknown> => {
    const res = await fleet.rpc(token, { jsonrpc: '2.0', id: 1, method, params });
    const body = (await res.json()) as { result?: unknown; error?: unknown };
    assert.equal(body.error, undefined, `${method}: ${JSON.stringify(body.error)}`);
    return body.result;
  };
  for (const [i, text] of DOCS.entries()) await call(created.token, 'memory.add', { text, title: `doc${i}` });
  const search = async (token: string): Promise<unknown[]> => Promise.all(QUERIES.map((query) => call(token, 'memory.search', { query, limit: 3 })));
  const before = await search(created.token);
  assert.ok((before[0] as { results: unknown[] }).results.length > 0);

  const s2 = await fleet.addShard('s2');
  await addShard(fleet.blob, fleet.adminKey, { id: 's2', url: s2.url, weight: 1_000_000 });
  const report = await rebalance({ blob: fleet.blob, adminKey: fleet.adminKey, concurrency: 1, dryRun: false, log: () => {} });
  assert.deepEqual(report.done.map((d) => d.tenant), ['mem'], 'the tenant moved');
  assert.ok(s2.services.store.get('mem') !== undefined);
  assert.deepEqual(await search(created.token), before, 'same answers on the new shard');

  const backup = (await (await fleet.admin('/v1/tenants/mem/backups', { body: {} })).json()) as { key: string };
  const restored = (await (await fleet.admin('/v1/tenants/restore', { body: { from: backup.key, as: 'memcopy' } })).json()) as { token: string };
  assert.deepEqual(await search(restored.token), before, 'same answers on the restored copy');
});
