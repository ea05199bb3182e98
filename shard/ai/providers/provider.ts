// The provider contract: one normalised chat request/result/stream shape every upstream maps to.

export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export type ContentPart = { type: 'text'; text: string } | { type: string; [k: string]: unknown };

export interface ChatMessage {
  role: 'system' | 'developer' | 'user' | 'assistant' | 'tool';
  content: string | ContentPart[] | null;
  name?: string;
  tool_calls?: ToolCall[];
  tool_call_id?: string;
}

export interface ToolDef {
  type: 'function';
  function: { name: string; description?: string; parameters?: Record<string, unknown> };
}

export interface ChatRequest {
  /** The upstream model name (prefix and alias already resolved). */
  model: string;
  messages: ChatMessage[];
  tools?: ToolDef[];
  tool_choice?: unknown;
  temperature?: number;
  top_p?: number;
  max_tokens?: number;
  stop?: string | string[];
  /** Other OpenAI body fields passed through to OpenAI-compatible upstreams unchanged. */
  extra?: Record<string, unknown>;
}

/**
 * Token usage as the ledger counts it: the five kinds are disjoint and their sum is the total.
 * input excludes cache reads/writes; output excludes reasoning.
 */
export interface Usage {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  reasoning: number;
}

export const ZERO_USAGE: Usage = Object.freeze({ input: 0, output: 0, cacheRead: 0, cacheWrite: 0, reasoning: 0 });

export function totalTokens(u: Usage): number {
  return u.input + u.output + u.cacheRead + u.cacheWrite + u.reasoning;
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

export interface ChatResult {
  content: string | null;
  toolCalls: ToolCall[];
  finishReason: FinishReason;
  usage: Usage;
}

/** One streamed piece, already in the OpenAI delta vocabulary. */
export interface ChatChunk {
  content?: string;
  toolCalls?: { index: number; id?: string; name?: string; arguments?: string }[];
  finishReason?: FinishReason;
  usage?: Usage;
}

export interface EmbedRequest {
  model: string;
  input: string[];
  dimensions?: number;
}

export interface EmbedResult {
  vectors: number[][];
  usage: Usage;
}

export interface Provider {
  readonly name: string;
  chat(req: ChatRequest, signal: AbortSignal): Promise<ChatResult>;
  /** Yields chunks; the last one carries `usage` (providers are asked for it). */
  chatStream(req: ChatRequest, signal: AbortSignal): AsyncIterable<ChatChunk>;
  embed(req: EmbedRequest, signal: AbortSignal): Promise<EmbedResult>;
}

/** OpenAI usage object → ledger usage. */
export function usageFromOpenAi(u: unknown): Usage {
  if (typeof u !== 'object' || u === null) return { ...ZERO_USAGE };
  const o = u as Record<string, unknown>;
  const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0);
  const pd = (o['prompt_tokens_details'] ?? o['input_tokens_details'] ?? {}) as Record<string, unknown>;
  const cd = (o['completion_tokens_details'] ?? o['output_tokens_details'] ?? {}) as Record<string, unknown>;
  const prompt = num(o['prompt_tokens'] ?? o['input_tokens']);
  const completion = num(o['completion_tokens'] ?? o['output_tokens']);
  const cacheRead = Math.min(prompt, num(pd['cached_tokens']));
  const cacheWrite = Math.min(prompt - cacheRead, num(pd['cache_write_tokens'] ?? pd['cache_creation_tokens']));
  const reasoning = Math.min(completion, num(cd['reasoning_tokens']));
  return { input: prompt - cacheRead - cacheWrite, output: completion - reasoning, cacheRead, cacheWrite, reasoning };
}

/** Ledger usage → the OpenAI chat usage object a client sees. */
export function usageToOpenAi(u: Usage): Record<string, unknown> {
  const prompt = u.input + u.cacheRead + u.cacheWrite;
  const completion = u.output + u.reasoning;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: u.cacheRead, cache_write_tokens: u.cacheWrite },
    completion_tokens_details: { reasoning_tokens: u.reasoning },
  };
}

export function addUsage(a: Usage, b: Usage): Usage {
  return {
    input: a.input + b.input,
    output: a.output + b.output,
    cacheRead: a.cacheRead + b.cacheRead,
    cacheWrite: a.cacheWrite + b.cacheWrite,
    reasoning: a.reasoning + b.reasoning,
  };
}

/** Plain text of a message's content (text parts joined). */
export function textOf(content: ChatMessage['content']): string {
  if (content === null) return '';
  if (typeof content === 'string') return content;
  return content
    .map((p) => (p.type === 'text' && typeof p['text'] === 'string' ? (p['text'] as string) : ''))
    .join('');
}
