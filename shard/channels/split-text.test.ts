// Reply splitting: every part fits, nothing is lost, surrogate pairs stay whole.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { splitText } from './split-text.ts';

void test('parts fit the limit and join back to the text (Telegram 4,096)', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 3000 }), fc.integer({ min: 2, max: 300 }), (text, max) => {
      const parts = splitText(text, max);
      assert.equal(parts.join(''), text);
      for (const p of parts) {
        assert.ok(p.length <= max);
        assert.ok(!/[\ud800-\udbff]$/.test(p) || p === parts.at(-1), 'no part ends inside a surrogate pair');
      }
    }),
  );
  const long = 'word '.repeat(2000);
  const parts = splitText(long, 4096);
  assert.equal(parts.length, 3);
  assert.ok(parts.every((p) => p.length <= 4096 && (p === parts.at(-1) || p.endsWith(' '))));
});
