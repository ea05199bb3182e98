// A rebalance survives crashes: killing the CLI mid-move and re-running converges; killing the
// source shard mid-move neither loses the tenant nor leaves two owners (DESIGN §6 invariants).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { manifestStore } from '../router/manifest/manifest-store.ts';
import { initPlacement } from '../router/placement/rendezvous.ts';
import { addShard } from '../ops/fleet/fleet-edits.ts';
import { JournalWriter } from '../ops/fleet/move-journal.ts';
import { rebalance } from '../ops/fleet/rebalance.ts';
import { ShardAdmin } from '../ops/fleet/shard-admin.ts';
import { startTestFleet, type TestFleet } from './helpers/fleet-fixture.ts';

const bin = new URL('../ops/bin/openclawmu.mjs', import.meta.url).pathname;

async function waitForJournal(fleet: TestFleet, pred: (states: string[]) => boolean, limitMs = 60_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    const j = await JournalWriter.read(fleet.blob).catch(() => null);
    if (j !== null && !j.journal.finished && pred(j.journal.moves.map((m) => m.state))) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('the journal never reached the expected state');
}

async function seedTenants(fleet: TestFleet, n: number): Promise<Map<string, string>> {
  const tokens = new Map<string, string>();
  for (let i = 0; i < n; i++) {
    const id = `c${i}`;
    const res = await fleet.admin('/v1/tenants', { body: { id } });
    assert.equal(res.status, 201, await res.clone().text());
    const token = ((await res.json()) as { token: string }).token;
    tokens.set(id, token);
    const w = await fleet.rpc(token, { jsonrpc: '2.0', id: 1, method: 'config.set', params: { path: 'labels.seed', value: id } });
    assert.equal(w.status, 200);
  }
  return tokens;
}

/** Each tenant is owned (state owned) by exactly one shard, the one placement names, with its data. */
async function assertConverged(fleet: TestFleet, tokens: Map<string, string>, admins: ShardAdmin[]): Promise<void> {
  const manifest = (await manifestStore(fleet.blob).read())?.manifest;
  assert.ok(manifest !== undefined);
  const placement = await initPlacement();
  const holders = new Map<string, string[]>();
  for (const a of admins) {
    for (const t of await a.listTenants()) {
      assert.equal(t.state, 'owned', `${t.id} is still ${t.state} on ${a.id}`);
      holders.set(t.id, [...(holders.get(t.id) ?? []), a.id]);
    }
  }
  for (const [id, token] of tokens) {
    assert.deepEqual(holders.get(id), [placement.ownerOf(id, manifest)], `${id} held by ${String(holders.get(id))}`);
    const res = await fleet.rpc(token, { jsonrpc: '2.0', id: 1, method: 'config.get' });
    assert.equal(res.status, 200, id);
    const cfg = ((await res.json()) as { result: { labels?: Record<string, string> } }).result;
    assert.equal(cfg.labels?.['seed'], id, `${id} lost its data`);
  }
}

test('killing the CLI mid-rebalance, then re-running it, converges', { timeout: 170_000 }, async (t) => {
  const fleet = await startTestFleet(t, { shards: 2 });
  const tokens = await seedTenants(fleet, 12);
  const s3 = await fleet.addShard('s3');
  const added = await addShard(fleet.blob, fleet.adminKey, { id: 's3', url: s3.url, weight: 2 });
  assert.ok(added.toMove >= 2, `only ${added.toMove} to move`);

  const cli = spawn(process.execPath, [bin, 'fleet', 'rebalance', '--blob', fleet.blobUrl, '--admin-key', fleet.adminKey, '--concurrency', '1'], { stdio: 'ignore' });
  t.after(() => cli.kill('SIGKILL'));
  await waitForJournal(fleet, (states) => states.some((s) => s === 'frozen' || s === 'snapshotted' || s === 'imported'));
  cli.kill('SIGKILL');
  await new Promise((r) => (cli.exitCode !== null || cli.signalCode !== null ? r(null) : cli.once('exit', r)));

  const again = await rebalance({ blob: fleet.blob, adminKey: fleet.adminKey, concurrency: 2, dryRun: false, log: () => {} });
  assert.ok(again.resumed >= 1, 'the half-done move was resumed');
  assert.deepEqual(again.failed, []);
  const admins = [...fleet.shards.values()].map((s) => new ShardAdmin(s.services.config.id, s.url, fleet.adminKey));
  await assertConverged(fleet, tokens, admins);
  const dry = await rebalance({ blob: fleet.blob, adminKey: fleet.adminKey, concurrency: 1, dryRun: true, log: () => {} });
  assert.deepEqual(dry.planned, [], 'nothing left to move');
});

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

async function spawnShard(args: string[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, [bin, 'shard', ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
  const rl = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`shard exited (${code})`)));
    rl.on('line', (line) => {
      if (line.startsWith('{"event":"listening"')) resolve();
    });
  });
  return child;
}

test('killing the source shard mid-move neither loses the tenant nor leaves two owners', { timeout: 170_000 }, async (t) => {
  const fleet = await startTestFleet(t, { shards: 1 });
  // Replace s1 by a child process we can kill -9: same data dir, fixed port.
  const s1 = fleet.shards.get('s1');
  assert.ok(s1 !== undefined);
  await s1.close();
  fleet.shards.delete('s1');
  const port = await freePort();
  const dataDir = join(fleet.dir, 's1');
  const args = ['--id', 's1', '--port', String(port), '--data', dataDir, '--admin-key', fleet.adminKey, '--blob', fleet.blobUrl];
  let child = await spawnShard(args);
  t.after(() => child.kill('SIGKILL'));
  await manifestStore(fleet.blob).update((cur) => ({ version: 0, shards: [{ id: 's1', url: `http://127.0.0.1:${port}`, weight: 1 }], overrides: cur?.overrides ?? {} }));
  await fleet.router.poller.refresh();
  const tokens = await seedTenants(fleet, 8);

  const s2 = await fleet.addShard('s2');
  const added = await addShard(fleet.blob, fleet.adminKey, { id: 's2', url: s2.url, weight: 3 });
  assert.ok(added.toMove >= 2, `only ${added.toMove} to move`);
  const run = rebalance({ blob: fleet.blob, adminKey: fleet.adminKey, concurrency: 1, dryRun: false, log: () => {} });
  await waitForJournal(fleet, (states) => states.includes('snapshotted'));
  child.kill('SIGKILL');
  const first = await run;
  assert.ok(first.failed.length + first.done.length === first.planned.length);

  // The source comes back: start-up fencing tombstones what the manifest says moved on.
  child = await spawnShard(args);
  const committedWithoutSource = first.done.length;
  assert.ok(committedWithoutSource >= 1, 'the in-flight move committed without the dead source');
  const audit = readFileSync(join(dataDir, 'audit.log'), 'utf8');
  assert.match(audit, /"actor":\{"type":"system"\},"action":"tenant.moved"/, 'the restarted source fenced the moved tenant');
  const second = await rebalance({ blob: fleet.blob, adminKey: fleet.adminKey, concurrency: 2, dryRun: false, log: () => {} });
  assert.deepEqual(second.failed, []);
  const admins = [new ShardAdmin('s1', `http://127.0.0.1:${port}`, fleet.adminKey), new ShardAdmin('s2', s2.url, fleet.adminKey)];
  await assertConverged(fleet, tokens, admins);
  // Never two owners: each token is accepted by exactly one shard directly.
  for (const [id, token] of tokens) {
    let owners = 0;
    for (const url of [`http://127.0.0.1:${port}`, s2.url]) {
      const res = await fetch(`${url}/rpc`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'health' }) });
      await res.text();
      if (res.status === 200) owners++;
    }
    assert.equal(owners, 1, `${id} has ${owners} owners`);
  }
});
