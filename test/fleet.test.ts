// Cross-process: `openclawmu dev` (3 shard processes + a router process) driven through the router only.
// Placement, token routing, a router with an old manifest (421 after a real move), one shard down, SSE.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { initPlacement } from '../router/placement/rendezvous.ts';
import { parseManifest, serializeManifest, type Manifest } from '../router/manifest/manifest-schema.ts';
import { openManifestStore } from '../router/manifest/open-manifest-source.ts';
import { startDevFleet } from '../ops/dev/dev-fleet.ts';
import { startChild, type FleetChild } from '../ops/dev/child-process.ts';
import { tempDir } from './helpers/shard-fixture.ts';

const placement = await initPlacement();

async function inBatches<T, R>(items: T[], size: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  return out;
}

/** A real streaming upstream: the first SSE event at once, the rest only when the test says so. */
async function sseUpstream(t: TestContext): Promise<{ url: string; release: () => void }> {
  let release: () => void = () => {};
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: {"delta":"Hel"}\n\n');
    release = () => res.end('data: {"delta":"lo"}\n\ndata: [DONE]\n\n');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, release: () => release() };
}

void test('a dev fleet behind one router: placement, tokens, stale-manifest router via 421, shard down, SSE', async (t) => {
  const data = tempDir(t, 'ocmu-fleet-');
  const env = { ...process.env, OPENCLAWMU_TEST: '1' };
  const fleet = await startDevFleet({ shards: 3, port: 0, data, env });
  const extra: FleetChild[] = [];
  t.after(async () => {
    await Promise.all(extra.map((c) => c.stop()));
    await fleet.stop();
  });
  const admin = { authorization: `Bearer ${fleet.adminKey}`, 'content-type': 'application/json' };
  const v1: Manifest = fleet.manifest;
  assert.deepEqual(v1.shards.map((s) => s.id), ['s1', 's2', 's3']);

  // --- 200 tenants created through the router land where placement says -------------------------
  const ids = Array.from({ length: 200 }, (_, i) => `t${String(i).padStart(3, '0')}`);
  const created = await inBatches(ids, 10, async (id) => {
    const res = await fetch(`${fleet.routerUrl}/v1/tenants`, { method: 'POST', headers: admin, body: JSON.stringify({ id }) });
    assert.equal(res.status, 201, `create ${id}`);
    const body = (await res.json()) as { id: string; token: string; shard: string };
    assert.equal(body.shard, placement.ownerOf(id, v1), `${id} landed on ${body.shard}`);
    return body;
  });
  const tokens = new Map(created.map((c) => [c.id, c.token]));
  const perShard = new Map<string, number>();
  for (const c of created) perShard.set(c.shard, (perShard.get(c.shard) ?? 0) + 1);
  assert.equal(perShard.size, 3);
  for (const n of perShard.values()) assert.ok(n > 40, `uneven: ${[...perShard.entries()]}`);

  const health = async (routerUrl: string, id: string): Promise<{ status: number; tenant?: string; shard?: string }> => {
    const res = await fetch(`${routerUrl}/rpc`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.get(id)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'health' }),
    });
    if (res.status !== 200) return { status: res.status };
    const body = (await res.json()) as { result: { tenant: string; shard: string } };
    return { status: 200, tenant: body.result.tenant, shard: body.result.shard };
  };

  t.diagnostic('step: tokens');
  // --- every token reaches its own tenant through the router --------------------------------------
  await inBatches(ids, 20, async (id) => {
    const h = await health(fleet.routerUrl, id);
    assert.deepEqual(h, { status: 200, tenant: id, shard: placement.ownerOf(id, v1) });
  });

  t.diagnostic('step: old router');
  // --- a router started with the old manifest still serves every tenant (via 421) -----------------
  // It polls once an hour, so only a 421 can teach it the new manifest.
  const slowPoll = join(data, 'router-old.yaml');
  writeFileSync(slowPoll, 'pollIntervalMs: 3600000\n');

  // Grow the fleet by s4 and move the tenants placement now gives it, the way a move does:
  // freeze on the old owner, copy the (closed) directory, start s4 with it, publish v2, tombstone.
  const v2 = parseManifest({ version: 2, shards: [...v1.shards, { id: 's4', url: 'http://127.0.0.1:1', weight: 1 }] });
  const moving = ids.filter((id) => placement.ownerOf(id, v2) === 's4');
  assert.ok(moving.length > 20 && moving.length < 90, `moving ${moving.length}`);
  const s4Dir = join(data, 'shards', 's4');
  for (const id of moving) {
    const from = placement.ownerOf(id, v1) as string;
    const fromUrl = v1.shards.find((s) => s.id === from)?.url as string;
    const fr = await fetch(`${fromUrl}/v1/tenants/${id}/freeze`, { method: 'POST', headers: admin, body: '{}' });
    assert.equal(fr.status, 200, `freeze ${id}`);
    cpSync(join(data, 'shards', from, 'tenants', id), join(s4Dir, 'tenants', id), { recursive: true });
  }
  // Started together (each process start costs seconds): the old router, s4, and a router for the SSE check.
  const sse = await sseUpstream(t);
  const sseManifest = join(data, 'sse-manifest.json');
  writeFileSync(sseManifest, serializeManifest(parseManifest({ version: 1, shards: [{ id: 'sse', url: sse.url }] })));
  const [oldRouter, s4, sseRouter] = await Promise.all([
    startChild('router-old', ['router', '--port', '0', '--manifest', fleet.blobUrl, '--config', slowPoll, '--admin-key', fleet.adminKey], join(data, 'logs', 'router-old.log'), env),
    startChild('s4', ['shard', '--id', 's4', '--port', '0', '--data', s4Dir, '--admin-key', fleet.adminKey, '--blob', fleet.blobUrl], join(data, 'logs', 's4.log'), env),
    startChild('router-sse', ['router', '--port', '0', '--manifest', sseManifest], join(data, 'logs', 'router-sse.log'), env),
  ]);
  extra.push(oldRouter, s4, sseRouter);
  const { store, blobs } = openManifestStore(fleet.blobUrl);
  const cur = await store.read();
  assert.ok(cur !== null);
  await store.write({ ...v2, shards: [...v1.shards, { id: 's4', url: s4.url, weight: 1 }] }, cur);
  await blobs.close();
  for (const id of moving) {
    const from = placement.ownerOf(id, v1) as string;
    const fromUrl = v1.shards.find((s) => s.id === from)?.url as string;
    assert.equal((await fetch(`${s4.url}/v1/tenants/${id}/thaw`, { method: 'POST', headers: admin, body: '{}' })).status, 200);
    assert.equal((await fetch(`${fromUrl}/v1/tenants/${id}/moved`, { method: 'POST', headers: admin, body: JSON.stringify({ owner: 's4', epoch: 2 }) })).status, 200);
  }
  t.diagnostic('step: old router reads');
  const oldReady = (await (await fetch(`${oldRouter.url}/readyz`)).json()) as { manifestVersion: number };
  assert.equal(oldReady.manifestVersion, 1, 'the old router still holds v1');
  await inBatches(ids, 20, async (id) => {
    const h = await health(oldRouter.url, id);
    assert.deepEqual(h, { status: 200, tenant: id, shard: placement.ownerOf(id, v2) }, id);
  });
  assert.equal(((await (await fetch(`${oldRouter.url}/readyz`)).json()) as { manifestVersion: number }).manifestVersion, 2, 'a 421 refreshed it');
  const retries = await (await fetch(`${oldRouter.url}/metrics`)).text();
  assert.match(retries, /openclawmu_router_retries_total\{reason="misdirected"\} [1-9]/);

  t.diagnostic('step: shard down');
  // --- one shard down: every other tenant keeps working (reads and writes) ------------------------
  const s2 = fleet.children.find((c) => c.name === 's2') as FleetChild;
  s2.process.kill('SIGKILL');
  await s2.exited;
  const downIds = ids.filter((id) => placement.ownerOf(id, v2) === 's2');
  const upIds = ids.filter((id) => placement.ownerOf(id, v2) !== 's2');
  await inBatches(upIds, 20, async (id) => {
    const h = await health(oldRouter.url, id);
    assert.equal(h.tenant, id, `${id}: ${h.status}`);
    const patch = await fetch(`${oldRouter.url}/v1/tenants/${id}`, { method: 'PATCH', headers: admin, body: JSON.stringify({ displayName: `still ${id}` }) });
    assert.equal(patch.status, 200, `patch ${id}`);
  });
  for (const id of downIds.slice(0, 5)) {
    const res = await fetch(`${oldRouter.url}/rpc`, { method: 'POST', headers: { authorization: `Bearer ${tokens.get(id)}` }, body: '{"jsonrpc":"2.0","id":1,"method":"health"}' });
    // Refused at once (502) until the router's health probes mark s2 unreachable (then 503, no connect attempt).
    const code = ((await res.json()) as { error: { code: string } }).error.code;
    assert.ok((res.status === 502 && code === 'ROUTER_UPSTREAM_DOWN') || (res.status === 503 && code === 'ROUTER_SHARD_UNREACHABLE'), `${res.status} ${code}`);
  }
  const status = (await (await fetch(`${oldRouter.url}/v1/fleet`, { headers: admin })).json()) as { shards: { id: string; status: string }[] };
  assert.deepEqual(status.shards.map((s) => `${s.id}:${s.status}`), ['s1:up', 's2:down', 's3:up', 's4:up']);

  t.diagnostic('step: sse');
  // --- SSE through a router process arrives incrementally -----------------------------------------
  const res = await fetch(`${sseRouter.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${tokens.get('t000')}` }, body: '{"stream":true}' });
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  // The upstream sends the rest only after the first event came out of the router process.
  const first = await reader.read();
  assert.equal(new TextDecoder().decode(first.value), 'data: {"delta":"Hel"}\n\n');
  sse.release();
  let rest = '';
  for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value);
  assert.equal(rest, 'data: {"delta":"lo"}\n\ndata: [DONE]\n\n');
});
