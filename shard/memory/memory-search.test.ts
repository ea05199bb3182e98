// Search behaviour: filters, recency, MMR, minimum score, quantised indexes, background re-embedding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_MEMORY_SETTINGS } from './memory-settings.ts';
import { createMemoryEnv, TenantMemory } from './tenant-memory.ts';
import { loadCorpus, recallAtK } from './test-support/corpus.ts';
import { memoryOver, openTempDb, settled } from './test-support/memory-fixture.ts';

const DAY = 86_400_000;

void test('filters by source and by time apply to keyword and vector candidates', async (t) => {
  const { db } = openTempDb(t);
  let now = 10 * DAY;
  const mem = (s = {}) => memoryOver(db, s, { now: () => now });
  await mem().add({ id: 'old-ops', text: 'Rotate the database password every quarter.', source: 'ops' });
  now = 20 * DAY;
  await mem().add({ id: 'new-ops', text: 'Rotate the database password after every incident.', source: 'ops' });
  await mem().add({ id: 'new-home', text: 'Rotate the database password for the home NAS.', source: 'home' });
  await settled(db);
  for (const s of [{}, { vectorWeight: 1, keywordWeight: 0 }, { vectorWeight: 0, keywordWeight: 1 }]) {
    const m = mem(s);
    const ids = async (p: object): Promise<string[]> => (await m.search({ query: 'rotate database password', ...p })).results.map((r) => r.id).sort();
    assert.deepEqual(await ids({}), ['new-home', 'new-ops', 'old-ops']);
    assert.deepEqual(await ids({ source: 'ops' }), ['new-ops', 'old-ops']);
    assert.deepEqual(await ids({ since: 15 * DAY }), ['new-home', 'new-ops']);
    assert.deepEqual(await ids({ until: 15 * DAY }), ['old-ops']);
    assert.deepEqual(await ids({ source: 'home', until: 15 * DAY }), []);
  }
});

void test('recency decay ranks the newer of two equal notes first and halves per half-life', async (t) => {
  const { db } = openTempDb(t);
  let now = 0;
  const deps = { now: () => now };
  await memoryOver(db, {}, deps).add({ id: 'a-old', text: 'The office door code is 4471.' });
  now = 30 * DAY;
  await memoryOver(db, {}, deps).add({ id: 'b-new', text: 'The office door code is 4471.' });
  await settled(db);
  const plain = await memoryOver(db, {}, deps).search({ query: 'office door code' });
  assert.deepEqual(plain.results.map((r) => r.id), ['a-old', 'b-new'], 'without decay, ties keep insertion order');
  const decayed = await memoryOver(db, { recencyHalfLifeDays: 30 }, deps).search({ query: 'office door code' });
  assert.deepEqual(decayed.results.map((r) => r.id), ['b-new', 'a-old']);
  const [newer, older] = decayed.results;
  assert.ok(newer !== undefined && older !== undefined);
  assert.ok(Math.abs(older.score / newer.score - 0.5) < 1e-9);
});

void test('MMR brings a different relevant note above near-duplicates', async (t) => {
  const { db } = openTempDb(t);
  const mem = memoryOver(db);
  await mem.add({ id: 'dup-1', text: 'Deploy the API with helm upgrade api ./chart in the prod namespace.' });
  await mem.add({ id: 'dup-2', text: 'Deploy the API with helm upgrade api ./chart in the prod namespace!' });
  await mem.add({ id: 'dup-3', text: 'Deploy the API: helm upgrade api ./chart, prod namespace.' });
  await mem.add({ id: 'other', text: 'Deploy checklist: announce in the release channel and watch the API error rate.' });
  await settled(db);
  const plain = await mem.search({ query: 'deploy the API', limit: 2 });
  assert.ok(!plain.results.some((r) => r.id === 'other'), 'without MMR the duplicates fill the top');
  const diverse = await memoryOver(db, { mmrLambda: 0.5 }).search({ query: 'deploy the API', limit: 2 });
  assert.ok(diverse.results.some((r) => r.id === 'other'), JSON.stringify(diverse.results.map((r) => r.id)));
});

void test('minScore drops weak results', async (t) => {
  const { db } = openTempDb(t);
  const mem = memoryOver(db);
  for (const d of loadCorpus().documents) await mem.add(d);
  await settled(db);
  const all = await mem.search({ query: 'postgres backups', limit: 50 });
  assert.ok(all.results.length > 3);
  const floor = (all.results[2]?.score ?? 0) + 1e-9;
  const strict = await memoryOver(db, { minScore: floor }).search({ query: 'postgres backups', limit: 50 });
  assert.deepEqual(strict.results.map((r) => r.id), all.results.slice(0, 2).map((r) => r.id));
  for (const r of strict.results) assert.ok(r.score >= floor);
});

void test('int8 and binary indexes re-rank at full precision: same scores, near-identical recall', async (t) => {
  const { db } = openTempDb(t);
  const env = createMemoryEnv();
  const { documents, queries } = loadCorpus();
  const float = new TenantMemory(db, DEFAULT_MEMORY_SETTINGS, env);
  for (const d of documents) await float.add(d);
  for (const quantization of ['int8', 'binary'] as const) {
    // Reference first: a ready index for one setting drops the indexes of other settings.
    const f = new TenantMemory(db, { ...DEFAULT_MEMORY_SETTINGS, keywordWeight: 0, vectorWeight: 1 }, env);
    await f.reindex(false);
    await settled(db);
    const rf = await recallAtK(f, queries, 5);
    const ref = new Map<string, Map<string, number>>();
    for (const { query } of queries) ref.set(query, new Map((await f.search({ query, limit: 10 })).results.map((r) => [r.id, r.score])));

    const q = new TenantMemory(db, { ...DEFAULT_MEMORY_SETTINGS, quantization, keywordWeight: 0, vectorWeight: 1 }, env);
    await q.reindex(false);
    await settled(db);
    assert.equal(q.status().state, 'ready');
    const rq = await recallAtK(q, queries, 5);
    t.diagnostic(`${quantization}: recall@5 ${rq.toFixed(3)} vs float ${rf.toFixed(3)}`);
    assert.ok(rq >= rf - 0.05, `${quantization} recall ${rq} vs ${rf}`);
    for (const { query } of queries) {
      for (const r of (await q.search({ query, limit: 5 })).results) {
        const s = ref.get(query)?.get(r.id);
        if (s !== undefined) assert.ok(Math.abs(s - r.score) < 1e-6, 'full-precision score');
      }
    }
  }
  // Vectors came from the embedding cache: one cached vector per distinct chunk text, no more.
  const cached = (db.prepare('SELECT count(*) AS n FROM embedding_cache').get() as { n: number }).n;
  const distinct = (db.prepare('SELECT count(DISTINCT hash) AS n FROM chunks').get() as { n: number }).n;
  assert.equal(cached, distinct);
});

void test('changing the embedder re-embeds in the background; search stays up, keyword-only until ready', async (t) => {
  const { db } = openTempDb(t);
  const env = createMemoryEnv();
  const { documents, queries } = loadCorpus();
  const first = new TenantMemory(db, DEFAULT_MEMORY_SETTINGS, env);
  // Enough chunks for several batches.
  for (let i = 0; i < 4; i++) for (const d of documents) await first.add({ ...d, id: `${d.id}-${i}` });
  await settled(db);
  const second = new TenantMemory(db, { ...DEFAULT_MEMORY_SETTINGS, embedder: 'hash:128' }, env);
  const during = await second.search({ query: queries[0]?.query ?? '' });
  assert.equal(during.mode, 'keyword');
  assert.ok(during.results.length > 0);
  const st = second.status();
  assert.equal(st.state, 'building');
  assert.ok(st.done < st.total, JSON.stringify(st));
  // Writes during the build land in the new index too.
  await second.add({ id: 'during-build', text: 'Added while the new index was being built.' });
  await settled(db);
  const done = second.status();
  assert.deepEqual([done.state, done.done, done.total], ['ready', documents.length * 4 + 1, documents.length * 4 + 1]);
  const after = await second.search({ query: 'added while being built' });
  assert.equal(after.mode, 'hybrid');
  assert.equal(after.results[0]?.id, 'during-build');
  assert.equal((db.prepare('SELECT count(*) AS n FROM vec_indexes').get() as { n: number }).n, 1, 'the old index is dropped');
});

void test('property: any query text is safe (FTS5 syntax is quoted) and never throws', async (t) => {
  const { db } = openTempDb(t);
  const mem = memoryOver(db);
  for (const d of loadCorpus().documents.slice(0, 10)) await mem.add(d);
  await settled(db);
  for (const q of ['"', 'NEAR(a b)', 'a AND OR NOT', '*', 'title:x', '^start', '(((', "'; DROP TABLE chunks; --", '']) {
    await mem.search({ query: q });
  }
  await fc.assert(fc.asyncProperty(fc.string({ maxLength: 80 }), async (q) => void (await mem.search({ query: q }))), { numRuns: 200 });
  assert.equal((db.prepare('SELECT count(*) AS n FROM documents').get() as { n: number }).n, 10);
});
