// Cost arithmetic from the operator's rate card (USD per 1M tokens), snapshotted per ledger row.
import type { RateCard } from '../ai-config.ts';
import type { Usage } from '../providers/provider.ts';

/** The five per-kind rates actually applied (fallbacks resolved). */
export interface AppliedRate {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  reasoning: number;
}

export const FREE_RATE: AppliedRate = Object.freeze({ input: 0, output: 0, cacheRead: 0, cacheWrite: 0, reasoning: 0 });

/** Exact model → `<provider>/*` → `*`; an unpriced model costs 0 (and docs say so). */
export function rateFor(card: RateCard, model: string): AppliedRate {
  const slash = model.indexOf('/');
  const r = card[model] ?? (slash > 0 ? card[`${model.slice(0, slash)}/*`] : undefined) ?? card['*'];
  if (r === undefined) return FREE_RATE;
  return { input: r.input, output: r.output, cacheRead: r.cacheRead ?? r.input, cacheWrite: r.cacheWrite ?? r.input, reasoning: r.reasoning ?? r.output };
}

/** cost = Σ tokens_k × rate_k / 1e6, the one formula used by the ledger, quotas and tests. */
export function costOf(u: Usage, r: AppliedRate): number {
  return (u.input * r.input + u.output * r.output + u.cacheRead * r.cacheRead + u.cacheWrite * r.cacheWrite + u.reasoning * r.reasoning) / 1e6;
}
