// Pure ranking: fuse vector similarity with BM25, apply recency decay, a minimum score and MMR.
import { dot } from './embedder.ts';

export interface Candidate {
  readonly chunkId: number;
  readonly docId: string;
  /** Full-precision unit vector of the chunk, when the active embedder has one. */
  readonly vector: Float32Array | undefined;
  /** Cosine similarity to the query (full precision), or undefined when vectors are not in use. */
  readonly vectorSim: number | undefined;
  /** BM25 relevance (higher is better, i.e. -bm25()), or undefined when the chunk did not match the keywords. */
  readonly keyword: number | undefined;
  /** ms since the epoch. */
  readonly updated: number;
}

export interface RankOptions {
  readonly vectorWeight: number;
  readonly keywordWeight: number;
  /** Halves a result's score every this many days of age; undefined = no decay. */
  readonly recencyHalfLifeDays?: number;
  /** MMR trade-off: 1 = pure relevance, 0 = pure diversity; undefined = no MMR. */
  readonly mmrLambda?: number;
  readonly minScore: number;
  readonly limit: number;
  readonly now: number;
}

export interface Ranked extends Candidate {
  readonly score: number;
}

const DAY_MS = 86_400_000;

/**
 * Scores candidates: (wv·max(0, cos) + wk·bm25/maxBm25) / (wv + wk), times 0.5^(age/halfLife) when
 * decay is on; drops those under minScore; keeps the best chunk per document; then takes `limit`
 * in score order, or in MMR order when mmrLambda is set.
 */
export function rankCandidates(cands: readonly Candidate[], o: RankOptions): Ranked[] {
  const wsum = o.vectorWeight + o.keywordWeight;
  if (wsum <= 0 || cands.length === 0) return [];
  let maxKw = 0;
  for (const c of cands) if (c.keyword !== undefined && c.keyword > maxKw) maxKw = c.keyword;
  const scored: Ranked[] = cands.map((c) => {
    const v = c.vectorSim === undefined ? 0 : Math.max(0, c.vectorSim);
    const k = c.keyword === undefined || maxKw <= 0 ? 0 : c.keyword / maxKw;
    let score = (o.vectorWeight * v + o.keywordWeight * k) / wsum;
    if (o.recencyHalfLifeDays !== undefined && o.recencyHalfLifeDays > 0) {
      const ageDays = Math.max(0, o.now - c.updated) / DAY_MS;
      score *= Math.pow(0.5, ageDays / o.recencyHalfLifeDays);
    }
    return { ...c, score };
  });
  const best = new Map<string, Ranked>();
  for (const r of scored) {
    if (!(r.score >= o.minScore) || r.score <= 0) continue;
    const prev = best.get(r.docId);
    if (prev === undefined || r.score > prev.score || (r.score === prev.score && r.chunkId < prev.chunkId)) best.set(r.docId, r);
  }
  const sorted = [...best.values()].sort((a, b) => b.score - a.score || a.chunkId - b.chunkId);
  const limit = Math.max(0, Math.trunc(o.limit));
  if (o.mmrLambda === undefined || o.mmrLambda >= 1) return sorted.slice(0, limit);
  return mmr(sorted, o.mmrLambda, limit);
}

/** Greedy maximal marginal relevance over chunk vectors (chunks without a vector count as dissimilar). */
export function mmr(sorted: readonly Ranked[], lambda: number, limit: number): Ranked[] {
  const chosen: Ranked[] = [];
  const rest = [...sorted];
  while (chosen.length < limit && rest.length > 0) {
    let bestI = 0;
    let bestV = -Infinity;
    rest.forEach((r, i) => {
      let maxSim = 0;
      for (const c of chosen) if (r.vector !== undefined && c.vector !== undefined) maxSim = Math.max(maxSim, dot(r.vector, c.vector));
      const v = lambda * r.score - (1 - lambda) * maxSim;
      if (v > bestV) {
        bestV = v;
        bestI = i;
      }
    });
    chosen.push(rest.splice(bestI, 1)[0] as Ranked);
  }
  return chosen;
}
