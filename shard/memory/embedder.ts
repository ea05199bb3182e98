// The embedder contract every implementation meets (one contract suite tests them all).

export interface Embedder {
  /** Family: 'hash', 'openai', 'onnx'. With `model` it keys the embedding cache. */
  readonly kind: string;
  /** The model and its parameters (e.g. 'fh1-384', 'text-embedding-3-small'); vectors of one (kind, model) are comparable. */
  readonly model: string;
  /**
   * One L2-normalised vector per input, in input order, all of one dimension.
   * Throws AppError MEMORY_EMBEDDER_UNAVAILABLE when the backend cannot answer.
   */
  embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]>;
}

/** Scales `v` in place to unit length (a zero vector stays zero). */
export function l2normalise(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += (v[i] as number) * (v[i] as number);
  if (s === 0) return v;
  const inv = 1 / Math.sqrt(s);
  for (let i = 0; i < v.length; i++) v[i] = (v[i] as number) * inv;
  return v;
}

/** Dot product; the cosine similarity of two unit vectors. */
export function dot(a: Float32Array, b: Float32Array): number {
  const n = Math.min(a.length, b.length);
  let s = 0;
  for (let i = 0; i < n; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

export function vectorToBlob(v: Float32Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

export function blobToVector(b: Buffer | Uint8Array): Float32Array {
  // Copy: the source buffer may not be 4-byte aligned.
  const copy = new Uint8Array(b.byteLength);
  copy.set(b);
  return new Float32Array(copy.buffer, 0, copy.byteLength / 4);
}
