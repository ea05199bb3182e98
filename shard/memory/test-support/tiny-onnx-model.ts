// Writes a tiny ONNX "sentence encoder" for tests: a token-embedding lookup (Gather) with a vocab.txt.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

// Minimal protobuf writer: just the wire types ONNX's ModelProto needs.
function varint(n: number | bigint): number[] {
  let v = BigInt(n);
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
}
const key = (field: number, wire: number): number[] => varint((field << 3) | wire);
const int = (field: number, v: number): number[] => [...key(field, 0), ...varint(v)];
const bytes = (field: number, b: Uint8Array | number[]): number[] => [...key(field, 2), ...varint(b.length), ...b];
const str = (field: number, s: string): number[] => bytes(field, [...Buffer.from(s, 'utf8')]);

const FLOAT = 1;
const INT64 = 7;

function valueInfo(name: string, elemType: number, dims: (number | string)[]): number[] {
  const shape = dims.flatMap((d) => bytes(1, typeof d === 'number' ? int(1, d) : str(2, d)));
  const tensorType = [...int(1, elemType), ...bytes(2, shape)];
  return [...str(1, name), ...bytes(2, bytes(1, tensorType))];
}

export const TINY_VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', 'the', 'cat', 'dog', 'sat', 'ran', 'mat', 'park', 'quick', '##s', 'fox', 'jump', '##ed', 'on', 'in'];

/**
 * Writes model.onnx (input_ids [1, n] int64 → last_hidden_state [1, n, dim] float, a Gather from
 * a deterministic embedding table), vocab.txt and embedder.json into `dir`.
 */
export function writeTinyOnnxModel(dir: string, dim = 16): void {
  const vocab = TINY_VOCAB;
  const table = new Float32Array(vocab.length * dim);
  // Deterministic, distinct rows (a small LCG); special tokens get small weights.
  let seed = 12345;
  for (let i = 0; i < table.length; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const row = Math.floor(i / dim);
    table[i] = ((seed / 2 ** 32) * 2 - 1) * (row < 4 ? 0.05 : 1);
  }
  const tensor = [
    ...bytes(1, [...varint(vocab.length), ...varint(dim)]), // dims (packed)
    ...int(2, FLOAT),
    ...str(8, 'embeddings'),
    ...bytes(9, [...new Uint8Array(table.buffer)]),
  ];
  const node = [...str(1, 'embeddings'), ...str(1, 'input_ids'), ...str(2, 'last_hidden_state'), ...str(3, 'lookup'), ...str(4, 'Gather'), ...bytes(5, [...str(1, 'axis'), ...int(3, 0), ...int(20, 2)])];
  const graph = [
    ...bytes(1, node),
    ...str(2, 'tiny'),
    ...bytes(5, tensor),
    ...bytes(11, valueInfo('input_ids', INT64, [1, 'tokens'])),
    ...bytes(12, valueInfo('last_hidden_state', FLOAT, [1, 'tokens', dim])),
  ];
  const model = [...int(1, 8), ...str(2, 'openclawmu-test'), ...bytes(7, graph), ...bytes(8, [...str(1, ''), ...int(2, 13)])];
  writeFileSync(join(dir, 'model.onnx'), Buffer.from(model));
  writeFileSync(join(dir, 'vocab.txt'), vocab.join('\n') + '\n');
  writeFileSync(join(dir, 'embedder.json'), JSON.stringify({ lowercase: true, maxTokens: 64, pooling: 'mean' }));
}
