// On the committed labelled corpus, hybrid search beats keyword-only and vector-only (recall@5).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_MEMORY_SETTINGS } from './memory-settings.ts';
import { createMemoryEnv, TenantMemory } from './tenant-memory.ts';
import { loadCorpus, recallAtK } from './test-support/corpus.ts';
import { openTempDb, settled } from './test-support/memory-fixture.ts';

void test('recall@5 with the default embedder: hybrid > vector-only and hybrid > keyword-only', async (t) => {
  const { db } = openTempDb(t);
  const env = createMemoryEnv();
  const { documents, queries } = loadCorpus();
  assert.ok(documents.length >= 50 && queries.length >= 50);
  const hybrid = new TenantMemory(db, DEFAULT_MEMORY_SETTINGS, env);
  for (const d of documents) await hybrid.add(d);
  await settled(db);
  const keyword = new TenantMemory(db, { ...DEFAULT_MEMORY_SETTINGS, vectorWeight: 0, keywordWeight: 1 }, env);
  const vector = new TenantMemory(db, { ...DEFAULT_MEMORY_SETTINGS, vectorWeight: 1, keywordWeight: 0 }, env);
  const r = { hybrid: await recallAtK(hybrid, queries, 5), keyword: await recallAtK(keyword, queries, 5), vector: await recallAtK(vector, queries, 5) };
  t.diagnostic(`recall@5 ${JSON.stringify(r)}`);
  assert.ok(r.hybrid > r.keyword, `hybrid ${r.hybrid} > keyword ${r.keyword}`);
  assert.ok(r.hybrid > r.vector, `hybrid ${r.hybrid} > vector ${r.vector}`);
  // The figures docs/memory.md states (the corpus and the embedder are deterministic).
  assert.deepEqual(
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Number(v.toFixed(3))])),
    { hybrid: 0.983, keyword: 0.942, vector: 0.975 },
  );
});
