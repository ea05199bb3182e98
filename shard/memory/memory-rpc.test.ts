// memory.* over a real shard's POST /rpc: the lead's TenantContext opens memory.db with openMemoryDb.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { mintAdminKey } from '../../router/identity/tenant-id.ts';
import { startShard, type RunningShard } from '../app/start-shard.ts';
import { sha256Hex } from '../auth/token-hash.ts';
import { parseShardConfig } from '../config/shard-config.ts';
import { createLogger } from '../observability/logger.ts';
import { controlPlaneFeature } from '../control-plane/control-plane-feature.ts';
import { openMemoryDb } from './memory-db.ts';
import { memoryFeature } from './memory-feature.ts';
import { createMemoryTools } from './memory-tools.ts';
import type { MemoryDeps } from './tenant-memory.ts';
import { AppError } from '../../router/errors/app-error.ts';
import { startFakeEmbeddingsUpstream } from '../../test/fakes/fake-embeddings-upstream.ts';
import { tempDir } from './test-support/memory-fixture.ts';
import { tenantContext } from '../http/tenant-request.ts';

interface Rpc {
  result?: Record<string, unknown> & { results?: { id: string; title: string | null; text: string; score: number }[] };
  error?: { code: number; message: string; data?: { code: string; details?: Record<string, unknown> } };
}

async function startMemoryShard(t: TestContext, deps: MemoryDeps = {}): Promise<{ shard: RunningShard; tenant(id: string): Promise<(method: string, params?: unknown) => Promise<Rpc>> }> {
  const adminKey = mintAdminKey();
  const config = parseShardConfig({ id: 's1', port: 0, dataDir: tempDir(t), logLevel: 'warn', adminKeyHashes: [sha256Hex(adminKey)] });
  const log = createLogger({ level: 'warn', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
  const s = await startShard(config, { log, openMemoryDb, features: [controlPlaneFeature, memoryFeature(deps)] });
  t.after(() => s.close());
  return {
    shard: s,
    async tenant(id) {
      const res = await fetch(`${s.url}/v1/tenants`, { method: 'POST', headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ id }) });
      assert.equal(res.status, 201);
      const { token } = (await res.json()) as { token: string };
      return async (method, params) => {
        const r = await fetch(`${s.url}/rpc`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: params ?? {} }) });
        return (await r.json()) as Rpc;
      };
    },
  };
}

void test('memory.add/search/get/list/delete/reindex/status over /rpc, per tenant', async (t) => {
  const { shard, tenant } = await startMemoryShard(t);
  const a = await tenant('alpha');
  const b = await tenant('bravo');
  const added = await a('memory.add', { text: 'The staging database lives at db-staging.internal on port 5433.', title: 'Staging DB', source: 'ops' });
  assert.equal(added.error, undefined, JSON.stringify(added.error));
  const id = added.result?.id as string;
  assert.match(id, /^m_/);
  await b('memory.add', { text: 'CANARY bravo staging database password is hunter2', title: 'canary' });

  const found = await a('memory.search', { query: 'where is the staging database', limit: 5 });
  assert.equal(found.error, undefined);
  assert.equal(found.result?.results?.[0]?.id, id);
  assert.equal(found.result?.results?.[0]?.title, 'Staging DB');
  assert.ok((found.result?.results?.[0]?.score ?? 0) > 0);
  assert.ok(!JSON.stringify(found).includes('CANARY'), 'never B’s memory');

  assert.equal((await a('memory.get', { id })).result?.text, 'The staging database lives at db-staging.internal on port 5433.');
  const listed = await a('memory.list', {});
  assert.deepEqual((listed.result?.documents as { id: string }[]).map((d) => d.id), [id]);
  const st = await a('memory.status');
  assert.equal(st.result?.state, 'ready');
  const re = await a('memory.reindex', { force: true });
  assert.equal(re.error, undefined);
  assert.ok(['building', 'ready'].includes(re.result?.state as string));

  // Bad input answers JSON-RPC errors with the memory codes; nothing is stored.
  const big = await a('memory.add', { text: 'x'.repeat(256 * 1024 + 1) });
  assert.equal(big.error?.data?.code, 'MEMORY_DOCUMENT_TOO_LARGE', JSON.stringify(big).slice(0, 300));
  const bad = await a('memory.add', { text: 'bad \u0000 text' });
  assert.equal(bad.error?.data?.code, 'MEMORY_DOCUMENT_INVALID');
  assert.equal(((await a('memory.list', {})).result?.documents as unknown[]).length, 1);

  // B cannot read or delete A's document by id.
  assert.equal((await b('memory.get', { id })).error?.data?.code, 'MEMORY_NOT_FOUND');
  assert.equal((await b('memory.delete', { id })).error?.data?.code, 'MEMORY_NOT_FOUND');
  assert.equal((await a('memory.delete', { id })).result?.deleted, true);
  assert.equal((await a('memory.get', { id })).error?.data?.code, 'MEMORY_NOT_FOUND');

  // A tenant that turns memory off gets MEMORY_DISABLED.
  const off = await b('config.patch', { patch: { memory: { enabled: false } } });
  assert.equal(off.error, undefined, JSON.stringify(off.error));
  assert.equal((await b('memory.search', { query: 'x' })).error?.data?.code, 'MEMORY_DISABLED');
  assert.ok(shard.url.startsWith('http://'));
});

void test('memory_save / memory_search tools run against the tenant memory and report errors as tool output', async (t) => {
  const { shard, tenant } = await startMemoryShard(t);
  await tenant('gamma');
  const ctx = tenantContext(shard.services, 'gamma', { type: 'system' }, 'req-test');
  const tools = createMemoryTools();
  assert.deepEqual(tools.definitions.map((d) => d.function.name), ['memory_search', 'memory_save']);
  for (const d of tools.definitions) assert.equal(d.type, 'function');
  assert.ok(tools.handles('memory_save') && !tools.handles('shell'));
  const saved = JSON.parse(await tools.execute('memory_save', JSON.stringify({ text: 'The user prefers answers in French.', title: 'Language' }), { tenant: ctx })) as { id: string; saved: boolean };
  assert.equal(saved.saved, true);
  const found = JSON.parse(await tools.execute('memory_search', '{"query":"which language does the user prefer"}', { tenant: ctx })) as { results: { id: string; text: string }[] };
  assert.equal(found.results[0]?.id, saved.id);
  // Saved by an agent: the source says so.
  assert.equal((ctx.memoryDb().prepare('SELECT source FROM documents WHERE id = ?').get(saved.id) as { source: string }).source, 'agent');
  // Bad arguments come back as an error the model can read; nothing throws.
  for (const [name, args] of [['memory_search', 'not json'], ['memory_search', '{"query":""}'], ['memory_save', '{"text":""}'], ['memory_save', '{"text":"x","extra":1}']] as const) {
    const out = JSON.parse(await tools.execute(name, args, { tenant: ctx })) as { error?: { code: string } };
    assert.ok(out.error !== undefined && typeof out.error.code === 'string', `${name} ${args}`);
  }
});

void test('a model:<name> embedder goes through the injected model gateway with the calling tenant; failures degrade search', async (t) => {
  const up = await startFakeEmbeddingsUpstream({ dim: 32 });
  t.after(() => up.close());
  const calls: { tenant: string; model: string; n: number }[] = [];
  let refuse = false;
  const { tenant } = await startMemoryShard(t, {
    modelEmbed: async (tc, model, input, signal) => {
      calls.push({ tenant: tc.id, model, n: input.length });
      if (refuse) throw new AppError('QUOTA_TOKENS_DAY');
      const res = await fetch(`${up.url}/embeddings`, { method: 'POST', signal, headers: { authorization: `Bearer ${up.apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ model, input }) });
      const body = (await res.json()) as { data: { index: number; embedding: number[] }[] };
      return body.data.sort((a, b) => a.index - b.index).map((d) => d.embedding);
    },
  });
  const d = await tenant('delta');
  assert.equal((await d('config.patch', { patch: { memory: { embedder: 'model:openai/text-embedding-3-small' } } })).error, undefined);
  const added = await d('memory.add', { text: 'The release train leaves every second Tuesday.' });
  assert.equal(added.error, undefined, JSON.stringify(added.error));
  assert.ok(calls.length > 0 && calls.every((c) => c.tenant === 'delta' && c.model === 'openai/text-embedding-3-small'));
  const found = await d('memory.search', { query: 'when does the release train leave' });
  assert.equal(found.result?.mode, 'hybrid');
  assert.equal(found.result?.results?.[0]?.id, added.result?.id);
  refuse = true;
  const refused = await d('memory.add', { text: 'Another note.' });
  assert.equal(refused.error?.data?.code, 'MEMORY_EMBEDDER_UNAVAILABLE');
  assert.equal(refused.error?.data?.details?.reason, 'QUOTA_TOKENS_DAY');
  const degraded = await d('memory.search', { query: 'release train' });
  assert.equal(degraded.result?.mode, 'keyword');
  assert.equal(degraded.result?.results?.[0]?.id, added.result?.id);
  // Without a gateway wired, the setting is refused with a clear code.
  const { tenant: tenant2 } = await startMemoryShard(t);
  const e = await tenant2('echo');
  await e('config.patch', { patch: { memory: { embedder: 'model:x' } } });
  assert.equal((await e('memory.list', {})).error?.data?.code, 'MEMORY_EMBEDDER_INVALID');
});
