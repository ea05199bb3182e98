// Tenant lifecycle and residency (issue 10, DESIGN §11) on a real shard: start-up opens no tenant
// database; what must survive eviction does (quota window, chat.send idempotency, memory search);
// a freeze waits for every hook's stop before checkpoint, close and snapshot; a request racing an
// eviction is served; idle eviction follows the injected clock; a pinned tenant stays.
import assert from 'node:assert/strict';
import { readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { mintAdminKey } from '../router/identity/tenant-id.ts';
import { startShard, type RunningShard } from '../shard/app/start-shard.ts';
import { sha256Hex } from '../shard/auth/token-hash.ts';
import { parseShardConfig, type ShardConfigInput } from '../shard/config/shard-config.ts';
import { createLogger } from '../shard/observability/logger.ts';
import type { DatabaseEvent } from '../shard/tenants/tenant-databases.ts';
import { defineFeature, type ShardFeature } from '../shard/app/shard-feature.ts';
import { defaultFeatures } from '../shard/app/features.ts';
import { TestClock } from './ai/ai-fixture.ts';
import { tempDir } from './helpers/shard-fixture.ts';

interface Fixture {
  shard: RunningShard;
  adminKey: string;
  dataDir: string;
  admin(path: string, body?: unknown): Promise<Response>;
  tenant(id: string, quota?: Record<string, number>): Promise<string>;
  chat(token: string, content?: string): Promise<Response>;
  rpc(token: string, method: string, params: unknown): Promise<{ result?: Record<string, unknown>; error?: { data?: { code: string } } }>;
}

async function start(
  t: TestContext,
  opts: { config?: Partial<ShardConfigInput>; features?: ShardFeature[]; onDatabaseEvent?: (e: DatabaseEvent) => void; clock?: TestClock; dataDir?: string; adminKey?: string } = {},
): Promise<Fixture> {
  const dataDir = opts.dataDir ?? tempDir(t);
  const adminKey = opts.adminKey ?? mintAdminKey();
  const config = parseShardConfig({ id: 's1', port: 0, dataDir, logLevel: 'warn', adminKeyHashes: [sha256Hex(adminKey)], ...opts.config });
  const log = createLogger({ level: 'warn', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
  const shard = await startShard(config, {
    log,
    ...(opts.clock === undefined ? {} : { now: opts.clock.now }),
    // a test's feature: one line added to the list, like any other
    ...(opts.features === undefined ? {} : { features: [...defaultFeatures, ...opts.features] }),
    ...(opts.onDatabaseEvent === undefined ? {} : { onDatabaseEvent: opts.onDatabaseEvent }),
  });
  t.after(() => shard.close());
  const admin = (path: string, body?: unknown): Promise<Response> =>
    fetch(`${shard.url}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${adminKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const post = (token: string, path: string, body: unknown): Promise<Response> =>
    fetch(`${shard.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return {
    shard,
    adminKey,
    dataDir,
    admin,
    async tenant(id, quota) {
      const res = await admin('/v1/tenants', { id, ...(quota === undefined ? {} : { quota }) });
      assert.equal(res.status, 201, await res.clone().text());
      return ((await res.json()) as { token: string }).token;
    },
    chat: (token, content = 'hello') => post(token, '/v1/chat/completions', { model: 'echo', messages: [{ role: 'user', content }] }),
    async rpc(token, method, params) {
      const res = await post(token, '/rpc', { jsonrpc: '2.0', id: 1, method, params });
      return (await res.json()) as { result?: Record<string, unknown>; error?: { data?: { code: string } } };
    },
  };
}

/** Paths of this process's open descriptors under `dir`. */
function openFilesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(dir)) out.push(target);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

void test('start-up opens no tenant database; the first request opens only its tenant', async (t) => {
  const first = await start(t);
  const tokens = [await first.tenant('alpha'), await first.tenant('bravo')];
  for (const tk of tokens) assert.equal((await first.chat(tk)).status, 200);
  await first.shard.close();

  const again = await start(t, { dataDir: first.dataDir, adminKey: first.adminKey });
  const svc = again.shard.services;
  assert.equal(svc.store.count(), 2);
  assert.equal(svc.databases.openCount(), 0);
  assert.equal(svc.lifecycle.residentCount(), 0);
  assert.deepEqual(openFilesUnder(join(again.dataDir, 'tenants')), []);

  assert.equal((await again.chat(tokens[0] as string)).status, 200);
  assert.equal(svc.lifecycle.isResident('alpha'), true);
  assert.equal(svc.lifecycle.isResident('bravo'), false);
  assert.ok(openFilesUnder(join(again.dataDir, 'tenants')).every((p) => p.includes('/alpha/')));
});

void test('a tenant evicted and reactivated keeps its quota exact: the 6th request at 5 rpm is still 429', async (t) => {
  const f = await start(t, { config: { limits: { residentTenants: 1 } as ShardConfigInput['limits'] } });
  const limited = await f.tenant('acme', { requestsPerMinute: 5 });
  const other = await f.tenant('other');
  for (let i = 0; i < 5; i++) {
    assert.equal((await f.chat(limited, `hi ${i}`)).status, 200);
    // Another tenant's request pushes acme out (bound of 1): every admission survives an eviction.
    assert.equal((await f.chat(other)).status, 200);
    await f.shard.services.lifecycle.evict();
    assert.equal(f.shard.services.lifecycle.isResident('acme'), false);
  }
  const sixth = await f.chat(limited, 'sixth');
  assert.equal(sixth.status, 429);
  assert.equal(((await sixth.json()) as { error: { code: string } }).error.code, 'QUOTA_REQUESTS_MINUTE');
  assert.ok(Number(sixth.headers.get('retry-after')) > 0);
});

void test('idempotent chat.send still dedupes after the tenant was evicted', async (t) => {
  const f = await start(t);
  const token = await f.tenant('acme');
  const params = { sessionId: 'main', message: 'remember me', idempotencyKey: 'key-1' };
  const first = await f.rpc(token, 'chat.send', params);
  assert.equal(first.result?.status, 'final');
  await f.shard.services.lifecycle.deactivate('acme', 'idle');
  assert.equal(f.shard.services.databases.isOpen('acme'), false);
  const again = await f.rpc(token, 'chat.send', params);
  assert.equal(again.result?.replayed, true);
  assert.equal(again.result?.runId, first.result?.runId);
  const history = await f.rpc(token, 'chat.history', { sessionId: 'main' });
  assert.equal((history.result?.messages as unknown[]).length, 2, 'one user message and one answer, not two turns');
});

void test('memory search answers the same after the tenant was evicted', async (t) => {
  const f = await start(t);
  const token = await f.tenant('acme');
  for (const text of ['The staging database lives on port 5433.', 'Blue whales eat krill.', 'The deploy key rotates every Monday.']) {
    assert.equal((await f.rpc(token, 'memory.add', { text })).error, undefined);
  }
  const before = await f.rpc(token, 'memory.search', { query: 'which port does staging use' });
  assert.ok(((before.result?.results as unknown[]) ?? []).length > 0);
  await f.shard.services.lifecycle.deactivate('acme', 'evicted');
  assert.equal(f.shard.services.databases.isOpen('acme'), false);
  const after = await f.rpc(token, 'memory.search', { query: 'which port does staging use' });
  assert.deepEqual(after.result, before.result);
});

void test('a freeze waits for every hook to stop: stop → checkpoint → close → freeze answered → snapshot', async (t) => {
  const order: string[] = [];
  const release = deferred();
  const entered = deferred();
  const features = [
    defineFeature({
      name: 'slow-connector',
      async onInactive(tenant, reason) {
        if (tenant.id !== 'acme') return;
        entered.resolve();
        await release.promise;
        order.push(`stop:${reason}`);
      },
    }),
    defineFeature({
      name: 'second',
      async onInactive(tenant) {
        if (tenant.id === 'acme') order.push('stop:second');
      },
    }),
  ];
  const blobDir = tempDir(t);
  const f = await start(t, {
    config: { blob: `file://${blobDir}` },
    features,
    onDatabaseEvent: (e) => {
      if (e.tenantId === 'acme' && e.event !== 'open') order.push(`${e.event}:${e.db}`);
    },
  });
  const token = await f.tenant('acme');
  assert.equal((await f.chat(token)).status, 200);
  assert.equal((await f.rpc(token, 'memory.add', { text: 'a note' })).error, undefined);

  const freezing = f.admin('/v1/tenants/acme/freeze', {}).then((r) => {
    order.push('freeze answered');
    return r;
  });
  await entered.promise;
  assert.equal(order.join(), '', 'nothing is checkpointed or closed while a hook is still stopping');
  release.resolve();
  assert.equal((await freezing).status, 200);
  const snap = await f.admin('/v1/tenants/acme/move/snapshot', {});
  assert.equal(snap.status, 200, await snap.clone().text());
  order.push('snapshot');
  assert.deepEqual(order, ['stop:frozen', 'stop:second', 'checkpoint:state', 'close:state', 'checkpoint:memory', 'close:memory', 'freeze answered', 'snapshot']);
});

void test('requests racing evictions are served, never given a closed database', async (t) => {
  // A bound of one resident tenant: every request to one tenant evicts the other, while the
  // other's requests are arriving; a hook makes each eviction take several event-loop turns.
  const slowStop = defineFeature({ name: 'slow-stop', onInactive: () => new Promise<void>((r) => setImmediate(() => setImmediate(r))) });
  const f = await start(t, { config: { limits: { residentTenants: 1 } as ShardConfigInput['limits'] }, features: [slowStop] });
  const a = await f.tenant('alpha');
  const b = await f.tenant('bravo');
  const statuses: number[] = [];
  for (let round = 0; round < 15; round++) {
    const batch = [a, b, a, b, a, b].map(async (tk, i) => {
      const res = i % 3 === 2 ? await fetch(`${f.shard.url}/rpc`, { method: 'POST', headers: { authorization: `Bearer ${tk}`, 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'memory.add', params: { text: `note ${round}` } }) }) : await f.chat(tk, `r${round}`);
      const text = await res.text();
      assert.doesNotMatch(text, /database connection is not open|closed/i);
      assert.doesNotMatch(text, /"error"/);
      return res.status;
    });
    statuses.push(...(await Promise.all(batch)));
  }
  assert.ok(statuses.every((s) => s === 200), JSON.stringify(statuses));
  const metrics = await (await f.admin('/metrics')).text();
  const evicted = Number(/openclawmu_tenant_deactivations_total\{reason="evicted"\} (\d+)/.exec(metrics)?.[1]);
  assert.ok(evicted >= 10, `evictions happened (${evicted})`);
});

void test('idle tenants are evicted on the injected clock; a pinned tenant stays resident', async (t) => {
  const clock = new TestClock(Date.UTC(2026, 10, 29, 12));
  const pinned = new Set<string>(['keeper']);
  const active: string[] = [];
  const connector = defineFeature({
    name: 'connector',
    pinsResidency: (tenant) => pinned.has(tenant.id),
    async onActive(tenant) {
      active.push(tenant.id);
    },
  });
  const f = await start(t, { clock, features: [connector], config: { limits: { idleSeconds: 60 } as ShardConfigInput['limits'] } });
  const lc = f.shard.services.lifecycle;
  for (const id of ['keeper', 'visitor']) assert.equal((await f.chat(await f.tenant(id))).status, 200);
  assert.deepEqual(active.sort(), ['keeper', 'visitor']);
  clock.advance(59_000);
  assert.equal(await lc.evict(), 0);
  clock.advance(2_000);
  assert.equal(await lc.evict(), 1);
  assert.equal(lc.isResident('visitor'), false);
  assert.equal(lc.isResident('keeper'), true, 'a pinned tenant is not evicted');
  pinned.clear();
  assert.equal(await lc.evict(), 1);
  assert.equal(lc.residentCount(), 0);
  const metrics = await (await f.admin('/metrics')).text();
  assert.match(metrics, /openclawmu_tenant_deactivations_total\{reason="idle"\} 2/);
  assert.match(metrics, /openclawmu_tenants_resident 0/);
});
