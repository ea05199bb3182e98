// memory.db copied with the SQLite online backup API (the snapshot/move path) searches the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openMemoryDb } from './memory-db.ts';
import { loadCorpus } from './test-support/corpus.ts';
import { memoryOver, openTempDb, settled, tempDir } from './test-support/memory-fixture.ts';

void test('a backup-API copy of memory.db gives identical search results, vectors included', async (t) => {
  const { db } = openTempDb(t);
  for (const quantization of ['none', 'int8'] as const) {
    const mem = memoryOver(db, { quantization });
    const { documents, queries } = loadCorpus();
    if (quantization === 'none') for (const d of documents) await mem.add(d);
    await mem.reindex(false);
    await settled(db);
    assert.equal(mem.status().state, 'ready');
    // A write after the last checkpoint sits in the WAL: the backup must carry it too.
    await mem.add({ id: 'late', text: 'A late note about the staging database password rotation.' });

    const copyPath = join(tempDir(t), 'memory.db');
    await db.backup(copyPath);
    const copy = openMemoryDb(copyPath);
    t.after(() => copy.close());
    assert.equal(copy.pragma('integrity_check', { simple: true }), 'ok');
    const memCopy = memoryOver(copy, { quantization });
    assert.equal(memCopy.status().state, 'ready', 'the index arrives ready: no re-embedding after a move');
    for (const q of [...queries.map((x) => x.query), 'staging database password']) {
      const before = await mem.search({ query: q, limit: 5 });
      const after = await memCopy.search({ query: q, limit: 5 });
      assert.equal(after.mode, 'hybrid');
      assert.deepEqual(after.results, before.results, q);
    }
  }
});
