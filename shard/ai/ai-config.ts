// The operator's AI sections of the shard config: providers, model aliases and the rate card (zod).
import { z } from 'zod';

const providerName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'provider names match ^[a-z0-9][a-z0-9_-]{0,31}$');

export const ProviderConfigSchema = z
  .object({
    /** Wire format: 'openai' (any OpenAI-compatible base URL) or 'anthropic' (Messages API). */
    kind: z.enum(['openai', 'anthropic']),
    /** e.g. https://api.openai.com/v1, http://127.0.0.1:11434/v1 (Ollama), https://api.anthropic.com */
    baseUrl: z.string().url(),
    apiKey: z.string().min(1).optional(),
    /** Extra headers sent upstream (e.g. OpenRouter's HTTP-Referer). */
    headers: z.record(z.string(), z.string()).default({}),
    /** Time to the response headers (first byte) and the longest silence inside a body. */
    timeoutMs: z.number().int().positive().default(60_000),
    connectTimeoutMs: z.number().int().positive().default(10_000),
    /** Retries happen only before the first byte of a response reached us. */
    maxRetries: z.number().int().min(0).max(5).default(2),
    /** The SSRF guard refuses private, loopback, link-local and metadata addresses unless this is true. */
    allowPrivateNetwork: z.boolean().default(false),
    /** Models listed by GET /v1/models for this provider (upstream names, without the prefix). */
    models: z.array(z.string().min(1).max(200)).default([]),
    /** Anthropic only: the max_tokens to send when the client gave none (the API requires one). */
    defaultMaxTokens: z.number().int().positive().default(4096),
  })
  .strict();
export type ProviderConfig = z.infer<typeof ProviderConfigSchema>;
export const ProvidersSchema = z.record(providerName, ProviderConfigSchema).default({});

const aliasName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/, 'alias names are letters, digits and ._:-');
export const ModelAliasSchema = z.union([
  z.string().min(1),
  z.object({ target: z.string().min(1), description: z.string().max(500).optional() }).strict(),
]);
/** Operator aliases: `fast: openai/gpt-4o-mini` or `{target, description}`. */
export const ModelsSchema = z.record(aliasName, ModelAliasSchema).default({});

const usdPerMillion = z.number().min(0).max(1_000_000);
export const RateSchema = z
  .object({
    input: usdPerMillion,
    output: usdPerMillion,
    cacheRead: usdPerMillion.optional(),
    cacheWrite: usdPerMillion.optional(),
    reasoning: usdPerMillion.optional(),
  })
  .strict();
export type Rate = z.infer<typeof RateSchema>;
/**
 * USD per 1 million tokens, keyed by resolved model (`openai/gpt-4o-mini`), provider wildcard
 * (`openai/*`) or `*`. Missing cacheRead/cacheWrite fall back to input, reasoning to output.
 */
export const RateCardSchema = z.record(z.string().min(1).max(200), RateSchema).default({});
export type RateCard = z.infer<typeof RateCardSchema>;

export interface AiConfig {
  readonly providers: Readonly<Record<string, ProviderConfig>>;
  readonly models: Readonly<Record<string, z.infer<typeof ModelAliasSchema>>>;
  readonly rateCard: RateCard;
}
