// The built-in embedder: deterministic feature hashing of words and character n-grams (no weights).
import type { Embedder } from './embedder.ts';
import { l2normalise } from './embedder.ts';

export interface HashingEmbedderOptions {
  readonly dim: number;
  /** Character n-gram sizes taken inside each word (with boundary marks). */
  readonly ngrams: readonly number[];
  /** Weight of one word feature relative to one n-gram feature. */
  readonly wordWeight: number;
}

export const DEFAULT_HASHING_OPTIONS: HashingEmbedderOptions = Object.freeze({ dim: 384, ngrams: [3, 4], wordWeight: 2 });

// Function words carry no topic; hashing them only adds noise shared by every text.
const STOP = new Set(
  ('a an and are as at be been but by can could did do does for from had has have how i if in into is it its ' +
    'me my no not of on or our she so than that the their them then there these they this those to was we were ' +
    'what when where which who why will with would you your').split(' '),
);

/** FNV-1a 32-bit over UTF-16 code units, with a seed. */
function fnv1a(s: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // Final avalanche (murmur3 fmix32) so nearby strings spread over the buckets.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** Lower-cased word tokens (letters and digits of any script), stop words removed. */
export function wordTokens(text: string): string[] {
  const words = text.normalize('NFKC').toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  return words.filter((w) => !STOP.has(w));
}

export class HashingEmbedder implements Embedder {
  readonly kind = 'hash';
  readonly model: string;
  private readonly opts: HashingEmbedderOptions;

  constructor(opts: Partial<HashingEmbedderOptions> = {}) {
    this.opts = { ...DEFAULT_HASHING_OPTIONS, ...opts };
    if (!Number.isInteger(this.opts.dim) || this.opts.dim < 8 || this.opts.dim > 4096) throw new RangeError('dim must be an integer in 8..4096');
    // The model string names every parameter, so a change of any of them is a new cache key.
    this.model = `fh1-${this.opts.dim}-n${this.opts.ngrams.join('.')}-w${this.opts.wordWeight}`;
  }

  embedOne(text: string): Float32Array {
    const { dim, ngrams, wordWeight } = this.opts;
    const counts = new Map<string, number>();
    const add = (f: string, w: number): void => {
      counts.set(f, (counts.get(f) ?? 0) + w);
    };
    for (const word of wordTokens(text)) {
      add(`w:${word}`, wordWeight);
      const marked = `<${word}>`;
      for (const n of ngrams) {
        for (let i = 0; i + n <= marked.length; i++) add(`g${n}:${marked.slice(i, i + n)}`, 1);
      }
    }
    const v = new Float32Array(dim);
    for (const [f, c] of counts) {
      const h = fnv1a(f, 0);
      const sign = (fnv1a(f, 0x9e3779b9) & 1) === 0 ? 1 : -1;
      // Sublinear term frequency: repeating a word should not drown the rest of the text.
      v[h % dim] = (v[h % dim] as number) + sign * (1 + Math.log(c));
    }
    return l2normalise(v);
  }

  embed(texts: readonly string[]): Promise<Float32Array[]> {
    return Promise.resolve(texts.map((t) => this.embedOne(t)));
  }
}
