// Chunking keeps paragraphs whole where it can, respects the size bound and overlaps neighbours.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { chunkText } from './chunker.ts';

void test('short paragraphs are packed together and never split', () => {
  const text = 'Alpha one.\n\nBravo two.\n\nCharlie three.';
  assert.deepEqual(chunkText(text, { maxChars: 1000, overlapChars: 100 }), ['Alpha one.\n\nBravo two.\n\nCharlie three.']);
});

void test('chunks overlap by whole trailing paragraphs', () => {
  const paras = ['a'.repeat(40), 'b'.repeat(40), 'c'.repeat(40), 'd'.repeat(40)];
  const chunks = chunkText(paras.join('\n\n'), { maxChars: 90, overlapChars: 45 });
  assert.deepEqual(chunks, [`${paras[0]}\n\n${paras[1]}`, `${paras[1]}\n\n${paras[2]}`, `${paras[2]}\n\n${paras[3]}`]);
});

void test('a long paragraph is split at sentence boundaries', () => {
  const sentence = 'The quick brown fox jumps. ';
  const chunks = chunkText(sentence.repeat(20).trim(), { maxChars: 100, overlapChars: 0 });
  assert.ok(chunks.length > 1);
  for (const c of chunks) {
    assert.ok(c.length <= 100);
    assert.ok(c.endsWith('.'), c);
  }
});

void test('empty and whitespace-only text gives no chunks', () => {
  assert.deepEqual(chunkText(''), []);
  assert.deepEqual(chunkText('  \n\n \n'), []);
});

void test('property: every chunk is within the bound, non-empty, and every word of the input is kept in order', () => {
  const word = fc.stringMatching(/^[a-z]{1,30}$/);
  const para = fc.array(word, { minLength: 1, maxLength: 60 }).map((ws) => ws.join(' ') + '.');
  fc.assert(
    fc.property(fc.array(para, { minLength: 1, maxLength: 12 }), fc.integer({ min: 40, max: 400 }), fc.integer({ min: 0, max: 200 }), (paras, max, overlap) => {
      const text = paras.join('\n\n');
      const chunks = chunkText(text, { maxChars: max, overlapChars: overlap });
      assert.ok(chunks.length > 0);
      for (const c of chunks) {
        assert.ok(c.length <= max, `chunk of ${c.length} > ${max}`);
        assert.ok(c.trim() !== '');
      }
      // Deterministic.
      assert.deepEqual(chunkText(text, { maxChars: max, overlapChars: overlap }), chunks);
      // Nothing is lost: the input's words are a subsequence of the chunks' words.
      const inWords = text.split(/\s+/).filter(Boolean).join('');
      const outWords = chunks.join(' ').split(/\s+/).filter(Boolean).join('');
      let i = 0;
      for (const ch of outWords) if (ch === inWords[i]) i++;
      assert.equal(i, inWords.length);
    }),
    { numRuns: 200 },
  );
});
