// Splits a document into chunks along paragraph (then sentence, then word) boundaries, with overlap.

export interface ChunkOptions {
  /** Upper bound on a chunk's length in characters (UTF-16 code units). */
  readonly maxChars: number;
  /** Up to this many trailing characters of a chunk (whole paragraphs or sentences) start the next one. */
  readonly overlapChars: number;
}

export const DEFAULT_CHUNK_OPTIONS: ChunkOptions = Object.freeze({ maxChars: 1200, overlapChars: 200 });

/** Pieces no longer than `max`: sentences first, then words, then a hard cut for unbroken runs. */
function splitLong(paragraph: string, max: number): string[] {
  if (paragraph.length <= max) return [paragraph];
  const sentences = paragraph.match(/[^.!?\n]+(?:[.!?]+|\n|$)\s*/g) ?? [paragraph];
  const out: string[] = [];
  let cur = '';
  const flush = (): void => {
    if (cur.trim() !== '') out.push(cur.trim());
    cur = '';
  };
  for (const s of sentences) {
    if (s.length > max) {
      flush();
      for (const w of s.split(/(\s+)/)) {
        if (cur.length + w.length > max) flush();
        if (w.length > max) {
          for (let i = 0; i < w.length; i += max) out.push(w.slice(i, i + max));
        } else if (!(cur === '' && w.trim() === '')) cur += w;
      }
      continue;
    }
    if (cur.length + s.length > max) flush();
    cur += s;
  }
  flush();
  return out;
}

/**
 * Chunks `text`: paragraphs (blank-line separated) are packed whole into chunks of at most
 * `maxChars`; a paragraph longer than that is split by sentences. Each chunk after the first
 * begins with the trailing pieces of the previous chunk that fit in `overlapChars`, so a fact
 * that straddles a boundary is findable from either side. Deterministic; never returns empty chunks.
 */
export function chunkText(text: string, opts: ChunkOptions = DEFAULT_CHUNK_OPTIONS): string[] {
  const max = Math.max(16, opts.maxChars);
  const overlap = Math.max(0, Math.min(opts.overlapChars, Math.floor(max / 2)));
  const pieces = text
    .replace(/\r\n?/g, '\n')
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter((p) => p !== '')
    .flatMap((p) => splitLong(p, max));
  const chunks: string[] = [];
  let cur: string[] = [];
  let curLen = 0;
  let fresh = 0; // pieces in `cur` that are not overlap carried from the previous chunk
  const sep = '\n\n';
  for (const piece of pieces) {
    const added = curLen === 0 ? piece.length : curLen + sep.length + piece.length;
    if (added > max && fresh > 0) {
      chunks.push(cur.join(sep));
      // Carry the tail of this chunk as overlap, whole pieces only, within the budget.
      const carry: string[] = [];
      let carryLen = 0;
      for (let i = cur.length - 1; i >= 0; i--) {
        const p = cur[i] as string;
        const next = carryLen === 0 ? p.length : carryLen + sep.length + p.length;
        if (next > overlap || next + sep.length + piece.length > max) break;
        carry.unshift(p);
        carryLen = next;
      }
      cur = carry;
      curLen = carryLen;
      fresh = 0;
    } else if (added > max) {
      // Only overlap in the buffer and still no room: drop the overlap.
      cur = [];
      curLen = 0;
    }
    curLen = curLen === 0 ? piece.length : curLen + sep.length + piece.length;
    cur.push(piece);
    fresh++;
  }
  if (fresh > 0) chunks.push(cur.join(sep));
  return chunks;
}
