// What of a provider's config is secret (its API key and every configured header value), and the one
// way an upstream's words reach a tenant or the log: every secret redacted first, then truncated.
import type { ProviderConfig } from '../ai-config.ts';

/** Shorter values (e.g. a header `x-debug: 1`) are too common to redact without garbling messages. */
export const MIN_REDACTED_LENGTH = 8;
export const REDACTED = '[redacted]';

/** The API key and every configured header value, longest first (a key that contains another goes first). */
export function providerSecrets(cfg: Pick<ProviderConfig, 'apiKey' | 'headers'>): string[] {
  const all = [cfg.apiKey, ...Object.values(cfg.headers)].filter((s): s is string => s !== undefined && s.length >= MIN_REDACTED_LENGTH);
  return [...new Set(all)].sort((a, b) => b.length - a.length);
}

export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= MIN_REDACTED_LENGTH) out = out.split(s).join(REDACTED);
  return out;
}

/**
 * Upstream text made safe to pass on: redacted over its whole length, then cut to `max` characters.
 * (Cutting first would leave a key that straddles the cut partly visible and unmatched.)
 */
export function safeUpstreamText(text: string, secrets: readonly string[], max: number): string {
  return redactSecrets(text, secrets).slice(0, max);
}
