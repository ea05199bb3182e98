// The WordPiece tokenizer: [CLS]/[SEP] framing, ## continuation pieces, [UNK], accent folding, the token cap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WordPieceTokenizer } from './wordpiece-tokenizer.ts';
import { TINY_VOCAB } from './test-support/tiny-onnx-model.ts';

const vocab = TINY_VOCAB.join('\n');
const id = (t: string): number => TINY_VOCAB.indexOf(t);

void test('words split into the longest vocabulary pieces, framed by [CLS] and [SEP]', () => {
  const tok = new WordPieceTokenizer(vocab, { lowercase: true, maxTokens: 64 });
  assert.deepEqual(tok.encode('The cats jumped!').ids, [id('[CLS]'), id('the'), id('cat'), id('##s'), id('jump'), id('##ed'), id('[UNK]'), id('[SEP]')]);
  assert.deepEqual(tok.encode('Thé CAT').ids, [id('[CLS]'), id('the'), id('cat'), id('[SEP]')], 'accents and case folded');
  assert.deepEqual(tok.encode('zebra').ids, [id('[CLS]'), id('[UNK]'), id('[SEP]')]);
  assert.deepEqual(tok.encode('').ids, [id('[CLS]'), id('[SEP]')]);
});

void test('the token cap holds, [SEP] included', () => {
  const tok = new WordPieceTokenizer(vocab, { lowercase: true, maxTokens: 5 });
  const enc = tok.encode('the cat sat on the mat in the park');
  assert.equal(enc.ids.length, 5);
  assert.equal(enc.ids.at(-1), id('[SEP]'));
  assert.deepEqual(enc.mask, [1, 1, 1, 1, 1]);
});

void test('a vocabulary without the special tokens is refused', () => {
  assert.throws(() => new WordPieceTokenizer('a\nb', { lowercase: true, maxTokens: 8 }), /\[CLS\]/);
});
