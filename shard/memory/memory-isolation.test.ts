// Property: tenant A's searches never return tenant B's canary chunks, whatever the query.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { loadCorpus } from './test-support/corpus.ts';
import { memoryOver, openTempDb, settled, tempDir } from './test-support/memory-fixture.ts';

void test('tenant A never sees tenant B canaries, for any query (two memory.db files)', async (t) => {
  const a = openTempDb(t, tempDir(t, 'ocmu-tenant-a-'));
  const b = openTempDb(t, tempDir(t, 'ocmu-tenant-b-'));
  assert.notEqual(a.path, b.path);
  const memA = memoryOver(a.db);
  const memB = memoryOver(b.db);
  const { documents } = loadCorpus();
  // Both tenants hold the same ordinary corpus; only B holds the canaries.
  for (const d of documents) {
    await memA.add(d);
    await memB.add(d);
  }
  const canaries = ['CANARY-7f3a secret launch codes for tenant b', 'canary zebra quantum marmalade password hunter2', 'the postgres backup bucket of tenant b is canary-bucket-b'];
  for (const [i, text] of canaries.entries()) await memB.add({ id: `canary-${i}`, text, title: 'canary', source: 'secret' });
  await settled(a.db);
  await settled(b.db);
  const word = fc.constantFrom('canary', 'CANARY-7f3a', 'secret', 'tenant', 'b', 'hunter2', 'zebra', 'postgres', 'backup', 'bucket', 'launch', 'codes', 'marmalade', 'quantum');
  const query = fc.oneof(fc.array(word, { minLength: 1, maxLength: 6 }).map((ws) => ws.join(' ')), fc.string({ maxLength: 60 }), fc.constantFrom(...canaries));
  await fc.assert(
    fc.asyncProperty(query, fc.integer({ min: 1, max: 100 }), async (q, limit) => {
      const res = await memA.search({ query: q, limit });
      for (const r of res.results) {
        assert.ok(!r.id.startsWith('canary-'), `A got ${r.id} for ${JSON.stringify(q)}`);
        assert.ok(!/canary/i.test(r.text), `A got canary text for ${JSON.stringify(q)}`);
      }
      const ids = new Set(documents.map((d) => d.id));
      for (const r of res.results) assert.ok(ids.has(r.id));
    }),
    { numRuns: 150 },
  );
  // The canaries are findable in B: the property is not vacuous.
  const inB = await memB.search({ query: 'canary secret launch codes', limit: 3 });
  assert.equal(inB.results[0]?.id, 'canary-0');
});
