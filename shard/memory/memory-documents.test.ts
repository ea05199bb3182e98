// Adding, replacing, listing and deleting documents; refusals leave nothing half-indexed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type Database from 'better-sqlite3';
import { AppError } from '../../router/errors/app-error.ts';
import type { Embedder } from './embedder.ts';
import { HashingEmbedder } from './hashing-embedder.ts';
import { addDocument, DEFAULT_LIMITS } from './memory-documents.ts';
import { listIndexes } from './vector-index.ts';
import { memoryOver, openTempDb } from './test-support/memory-fixture.ts';

function counts(db: Database.Database): { documents: number; chunks: number; fts: number; vectors: number } {
  const n = (sql: string): number => (db.prepare(sql).get() as { n: number }).n;
  const vectors = listIndexes(db).reduce((s, i) => s + n(`SELECT count(*) AS n FROM ${i.name}`), 0);
  return { documents: n('SELECT count(*) AS n FROM documents'), chunks: n('SELECT count(*) AS n FROM chunks'), fts: n("SELECT count(*) AS n FROM chunks_fts WHERE chunks_fts MATCH 'alpha OR beta OR gamma OR delta OR kept OR changed'"), vectors };
}

const isCode = (code: string) => (err: unknown) => err instanceof AppError && err.code === code;

void test('add, get, list and delete a document', async (t) => {
  const { db } = openTempDb(t);
  const mem = memoryOver(db);
  const { id, created } = await mem.add({ text: 'Alpha paragraph.\n\nBeta paragraph.', title: 'Greek', source: 'notes' });
  assert.match(id, /^m_[0-9a-f]{16}$/);
  assert.equal(created, true);
  const doc = mem.get(id);
  assert.equal(doc.text, 'Alpha paragraph.\n\nBeta paragraph.');
  assert.equal(doc.title, 'Greek');
  assert.equal(doc.source, 'notes');
  assert.equal(doc.chunks, 1);
  await mem.add({ id: 'b-doc', text: 'Gamma.' });
  assert.deepEqual(mem.list({ limit: 1 }).documents.map((d) => d.id), ['b-doc']);
  const page2 = mem.list({ limit: 1, cursor: 'b-doc' });
  assert.deepEqual(page2.documents.map((d) => d.id), [id]);
  assert.equal(page2.nextCursor, null);
  assert.deepEqual(mem.list({ source: 'notes' }).documents.map((d) => d.id), [id]);
  mem.delete(id);
  assert.throws(() => mem.get(id), isCode('MEMORY_NOT_FOUND'));
  assert.throws(() => mem.delete(id), isCode('MEMORY_NOT_FOUND'));
  assert.deepEqual(counts(db), { documents: 1, chunks: 1, fts: 1, vectors: 1 });
});

void test('re-indexing a changed document replaces only its changed chunks', async (t) => {
  const { db } = openTempDb(t);
  const mem = memoryOver(db);
  const limits = { ...DEFAULT_LIMITS, chunk: { maxChars: 40, overlapChars: 0 } };
  const emb = new HashingEmbedder();
  const paras = ['Alpha kept paragraph one here.', 'Beta paragraph that will change.', 'Gamma kept paragraph three.'];
  await addDocument(db, { id: 'doc', text: paras.join('\n\n') }, { embedder: emb, quantization: 'none', limits, now: 1000 });
  const before = db.prepare("SELECT id, text, updated FROM chunks WHERE doc_id = 'doc' ORDER BY seq").all() as { id: number; text: string; updated: number }[];
  assert.equal(before.length, 3);
  const edited = [paras[0], 'Delta changed paragraph instead.', paras[2]].join('\n\n');
  const r = await addDocument(db, { id: 'doc', text: edited }, { embedder: emb, quantization: 'none', limits, now: 2000 });
  assert.deepEqual({ added: r.added, removed: r.removed, kept: r.kept, created: r.created }, { added: 1, removed: 1, kept: 2, created: false });
  const after = db.prepare("SELECT id, text, updated FROM chunks WHERE doc_id = 'doc' ORDER BY seq").all() as { id: number; text: string; updated: number }[];
  assert.equal(after[0]?.id, before[0]?.id, 'unchanged chunk keeps its row');
  assert.equal(after[0]?.updated, 1000, 'and its time');
  assert.equal(after[2]?.id, before[2]?.id);
  assert.notEqual(after[1]?.id, before[1]?.id);
  assert.equal(after[1]?.text, 'Delta changed paragraph instead.');
  // The same text again is a no-op.
  const same = await addDocument(db, { id: 'doc', text: edited }, { embedder: emb, quantization: 'none', limits, now: 3000 });
  assert.equal(same.added + same.removed, 0);
  const hits = (await mem.search({ query: 'beta' })).results;
  assert.ok(!hits.some((h) => h.text.includes('Beta')), 'the replaced chunk is gone from the indexes');
  const v = listIndexes(db)[0];
  assert.ok(v !== undefined);
  assert.equal((db.prepare(`SELECT count(*) AS n FROM ${v.name}`).get() as { n: number }).n, 3, 'and from the vector index');
});

void test('malformed documents are refused with MEMORY_DOCUMENT_INVALID and nothing is written', async (t) => {
  const { db } = openTempDb(t);
  const mem = memoryOver(db);
  const bad: unknown[] = [
    { text: '' },
    { text: '   \n\n  ' },
    { text: 'nul\0inside' },
    { text: 'lone \ud800 surrogate' },
    { text: 42 },
    { text: 'ok', title: 'x'.repeat(501) },
    { text: 'ok', source: 'Bad Source!' },
    { text: 'ok', id: '../escape' },
    { text: 'ok', id: '' },
  ];
  for (const input of bad) {
    await assert.rejects(mem.add(input as never), isCode('MEMORY_DOCUMENT_INVALID'), JSON.stringify(input));
  }
  assert.deepEqual(counts(db), { documents: 0, chunks: 0, fts: 0, vectors: 0 });
});

void test('an oversized document is refused with MEMORY_DOCUMENT_TOO_LARGE and nothing is written', async (t) => {
  const { db } = openTempDb(t);
  const mem = memoryOver(db, {}, { limits: { ...DEFAULT_LIMITS, maxDocumentBytes: 1000 } });
  await assert.rejects(mem.add({ text: 'é'.repeat(501) }), (err: unknown) => {
    assert.ok(err instanceof AppError && err.code === 'MEMORY_DOCUMENT_TOO_LARGE');
    assert.deepEqual(err.details, { bytes: 1002, limitBytes: 1000 });
    return true;
  });
  await mem.add({ text: 'é'.repeat(500) });
  assert.equal(counts(db).documents, 1);
});

void test('a failure inside the write transaction rolls the whole document back', async (t) => {
  const { db } = openTempDb(t);
  const good = new HashingEmbedder({ dim: 64 });
  await addDocument(db, { id: 'first', text: 'alpha' }, { embedder: good, quantization: 'none', now: 1 });
  // Same cache key as `good` but a different dimension: the vec0 insert fails mid-transaction,
  // after the document and chunk rows were written.
  const liar: Embedder = { kind: good.kind, model: good.model, embed: (xs) => Promise.resolve(xs.map(() => new Float32Array(32).fill(0.1))) };
  const text = 'beta one.\n\ngamma two.\n\ndelta three.';
  await assert.rejects(addDocument(db, { id: 'second', text }, { embedder: liar, quantization: 'none', now: 2, limits: { ...DEFAULT_LIMITS, chunk: { maxChars: 12, overlapChars: 0 } } }));
  assert.deepEqual(counts(db), { documents: 1, chunks: 1, fts: 1, vectors: 1 });
  assert.equal((db.prepare("SELECT count(*) AS n FROM embedding_cache WHERE hash IN (SELECT hash FROM chunks WHERE doc_id = 'second')").get() as { n: number }).n, 0);
  // Replacing an existing document that fails keeps the old version whole.
  await assert.rejects(addDocument(db, { id: 'first', text: 'changed text' }, { embedder: liar, quantization: 'none', now: 3 }));
  assert.equal((db.prepare("SELECT text FROM documents WHERE id = 'first'").get() as { text: string }).text, 'alpha');
  assert.deepEqual(counts(db), { documents: 1, chunks: 1, fts: 1, vectors: 1 });
});

void test('an unavailable embedder refuses the write before anything is stored', async (t) => {
  const { db } = openTempDb(t);
  const down: Embedder = { kind: 'x', model: 'y', embed: () => Promise.reject(new AppError('MEMORY_EMBEDDER_UNAVAILABLE')) };
  await assert.rejects(addDocument(db, { text: 'alpha beta' }, { embedder: down, quantization: 'none', now: 1 }), isCode('MEMORY_EMBEDDER_UNAVAILABLE'));
  assert.deepEqual(counts(db), { documents: 0, chunks: 0, fts: 0, vectors: 0 });
});

void test('concurrent adds of one id are serialised: the last one wins, nothing fails', async (t) => {
  const { db } = openTempDb(t);
  const mem = memoryOver(db);
  const texts = Array.from({ length: 8 }, (_, i) => `Version ${i} of the shared note.\n\nParagraph ${i}.`);
  const results = await Promise.all(texts.map((text) => mem.add({ id: 'shared', text })));
  assert.equal(results.filter((r) => r.created).length, 1);
  assert.equal(mem.get('shared').text, texts.at(-1));
  assert.deepEqual(counts(db).documents, 1);
  assert.equal((db.prepare("SELECT count(*) AS n FROM chunks WHERE doc_id = 'shared'").get() as { n: number }).n, 1);
});
