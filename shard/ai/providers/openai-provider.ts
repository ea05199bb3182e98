// The OpenAI-compatible provider: any base URL speaking /chat/completions and /embeddings.
import type { Dispatcher } from 'undici';
import { AppError } from '../../../router/errors/app-error.ts';
import type { ProviderConfig } from '../ai-config.ts';
import {
  usageFromOpenAi,
  type ChatChunk,
  type ChatRequest,
  type ChatResult,
  type EmbedRequest,
  type EmbedResult,
  type FinishReason,
  type Provider,
  type ToolCall,
} from './provider.ts';
import { readSse } from './sse-reader.ts';
import { providerSecrets, safeUpstreamText } from './provider-secrets.ts';
import { mapTransportError, postUpstream } from './upstream-call.ts';

function finishOf(v: unknown): FinishReason {
  return v === 'length' || v === 'tool_calls' || v === 'content_filter' ? v : v === 'function_call' ? 'tool_calls' : 'stop';
}

function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}${path}`;
}

export class OpenAiProvider implements Provider {
  readonly name: string;
  private readonly cfg: ProviderConfig;
  private readonly dispatcher: Dispatcher;

  constructor(name: string, cfg: ProviderConfig, dispatcher: Dispatcher) {
    this.name = name;
    this.cfg = cfg;
    this.dispatcher = dispatcher;
  }

  private headers(): Record<string, string> {
    const h: Record<string, string> = { ...this.cfg.headers };
    if (this.cfg.apiKey !== undefined) h['authorization'] = `Bearer ${this.cfg.apiKey}`;
    return h;
  }

  private body(req: ChatRequest, stream: boolean): Record<string, unknown> {
    const b: Record<string, unknown> = { ...(req.extra ?? {}), model: req.model, messages: req.messages };
    if (req.tools !== undefined) b['tools'] = req.tools;
    if (req.tool_choice !== undefined) b['tool_choice'] = req.tool_choice;
    if (req.temperature !== undefined) b['temperature'] = req.temperature;
    if (req.top_p !== undefined) b['top_p'] = req.top_p;
    if (req.max_tokens !== undefined) b['max_tokens'] = req.max_tokens;
    if (req.stop !== undefined) b['stop'] = req.stop;
    if (stream) {
      b['stream'] = true;
      b['stream_options'] = { include_usage: true };
    } else {
      delete b['stream'];
      delete b['stream_options'];
    }
    return b;
  }

  private call(path: string, body: unknown, signal: AbortSignal) {
    return postUpstream({
      url: joinUrl(this.cfg.baseUrl, path),
      headers: this.headers(),
      body,
      timeoutMs: this.cfg.timeoutMs,
      maxRetries: this.cfg.maxRetries,
      dispatcher: this.dispatcher,
      signal,
      provider: this.name,
      secrets: providerSecrets(this.cfg),
    });
  }

  async chat(req: ChatRequest, signal: AbortSignal): Promise<ChatResult> {
    const res = await this.call('/chat/completions', this.body(req, false), signal);
    let j: Record<string, unknown>;
    try {
      j = (await res.body.json()) as Record<string, unknown>;
    } catch (err) {
      throw mapTransportError(err, this.name, signal);
    }
    const choice = (Array.isArray(j['choices']) ? j['choices'][0] : undefined) as Record<string, unknown> | undefined;
    const msg = (choice?.['message'] ?? {}) as Record<string, unknown>;
    const toolCalls = Array.isArray(msg['tool_calls']) ? (msg['tool_calls'] as ToolCall[]) : [];
    return {
      content: typeof msg['content'] === 'string' ? msg['content'] : null,
      toolCalls,
      finishReason: finishOf(choice?.['finish_reason']),
      usage: usageFromOpenAi(j['usage']),
    };
  }

  async *chatStream(req: ChatRequest, signal: AbortSignal): AsyncGenerator<ChatChunk> {
    const res = await this.call('/chat/completions', this.body(req, true), signal);
    try {
      for await (const ev of readSse(res.body)) {
        if (ev.data === '[DONE]') break;
        let j: Record<string, unknown>;
        try {
          j = JSON.parse(ev.data) as Record<string, unknown>;
        } catch {
          continue; // a keep-alive or a malformed frame is skipped, not fatal
        }
        if (j['error'] !== undefined) {
          const m = (j['error'] as { message?: unknown }).message;
          throw new AppError('AI_PROVIDER_ERROR', { message: `The model provider failed mid-stream: ${typeof m === 'string' ? safeUpstreamText(m, providerSecrets(this.cfg), 300) : 'error'}`, details: { provider: this.name } });
        }
        const out: ChatChunk = {};
        const choice = (Array.isArray(j['choices']) ? j['choices'][0] : undefined) as Record<string, unknown> | undefined;
        const delta = (choice?.['delta'] ?? {}) as Record<string, unknown>;
        if (typeof delta['content'] === 'string' && delta['content'] !== '') out.content = delta['content'];
        if (Array.isArray(delta['tool_calls'])) {
          out.toolCalls = (delta['tool_calls'] as Record<string, unknown>[]).map((tc, i) => {
            const fn = (tc['function'] ?? {}) as Record<string, unknown>;
            const d: NonNullable<ChatChunk['toolCalls']>[number] = { index: typeof tc['index'] === 'number' ? tc['index'] : i };
            if (typeof tc['id'] === 'string') d.id = tc['id'];
            if (typeof fn['name'] === 'string') d.name = fn['name'];
            if (typeof fn['arguments'] === 'string') d.arguments = fn['arguments'];
            return d;
          });
        }
        if (choice?.['finish_reason'] !== undefined && choice['finish_reason'] !== null) out.finishReason = finishOf(choice['finish_reason']);
        if (j['usage'] !== undefined && j['usage'] !== null) out.usage = usageFromOpenAi(j['usage']);
        if (Object.keys(out).length > 0) yield out;
      }
    } catch (err) {
      throw mapTransportError(err, this.name, signal);
    } finally {
      // Early exit (client gone, consumer stopped): release the socket instead of draining it.
      if (!res.body.readableEnded) res.body.destroy();
    }
  }

  async embed(req: EmbedRequest, signal: AbortSignal): Promise<EmbedResult> {
    const body: Record<string, unknown> = { model: req.model, input: req.input, encoding_format: 'float' };
    if (req.dimensions !== undefined) body['dimensions'] = req.dimensions;
    const res = await this.call('/embeddings', body, signal);
    let j: { data?: { embedding?: unknown; index?: number }[]; usage?: unknown };
    try {
      j = (await res.body.json()) as typeof j;
    } catch (err) {
      throw mapTransportError(err, this.name, signal);
    }
    const data = [...(j.data ?? [])].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
    const vectors = data.map((d) => (Array.isArray(d.embedding) ? (d.embedding as number[]) : []));
    return { vectors, usage: usageFromOpenAi(j.usage) };
  }
}
