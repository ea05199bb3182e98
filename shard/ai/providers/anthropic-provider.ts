// The Anthropic Messages provider: OpenAI-shaped requests in, translated both ways over undici.
import type { Dispatcher } from 'undici';
import { AppError } from '../../../router/errors/app-error.ts';
import type { ProviderConfig } from '../ai-config.ts';
import { AnthropicStreamMapper, fromAnthropicResponse, toAnthropicBody } from './anthropic-translate.ts';
import type { ChatChunk, ChatRequest, ChatResult, EmbedResult, Provider } from './provider.ts';
import { readSse } from './sse-reader.ts';
import { providerSecrets } from './provider-secrets.ts';
import { mapTransportError, postUpstream } from './upstream-call.ts';

export const ANTHROPIC_VERSION = '2023-06-01';

export class AnthropicProvider implements Provider {
  readonly name: string;
  private readonly cfg: ProviderConfig;
  private readonly dispatcher: Dispatcher;

  constructor(name: string, cfg: ProviderConfig, dispatcher: Dispatcher) {
    this.name = name;
    this.cfg = cfg;
    this.dispatcher = dispatcher;
  }

  private call(body: unknown, signal: AbortSignal) {
    const headers: Record<string, string> = { 'anthropic-version': ANTHROPIC_VERSION, ...this.cfg.headers };
    if (this.cfg.apiKey !== undefined) headers['x-api-key'] = this.cfg.apiKey;
    const base = this.cfg.baseUrl.replace(/\/+$/, '');
    return postUpstream({
      url: base.endsWith('/v1') ? `${base}/messages` : `${base}/v1/messages`,
      headers,
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
    const res = await this.call(toAnthropicBody(req, this.cfg.defaultMaxTokens, false), signal);
    try {
      return fromAnthropicResponse((await res.body.json()) as Record<string, unknown>);
    } catch (err) {
      throw mapTransportError(err, this.name, signal);
    }
  }

  async *chatStream(req: ChatRequest, signal: AbortSignal): AsyncGenerator<ChatChunk> {
    const res = await this.call(toAnthropicBody(req, this.cfg.defaultMaxTokens, true), signal);
    const mapper = new AnthropicStreamMapper(providerSecrets(this.cfg));
    try {
      for await (const ev of readSse(res.body)) {
        let j: Record<string, unknown>;
        try {
          j = JSON.parse(ev.data) as Record<string, unknown>;
        } catch {
          continue;
        }
        const type = typeof j['type'] === 'string' ? j['type'] : ev.event;
        for (const c of mapper.map(type, j)) yield c;
        if (type === 'message_stop') break;
      }
    } catch (err) {
      throw mapTransportError(err, this.name, signal);
    } finally {
      if (!res.body.readableEnded) res.body.destroy();
    }
  }

  embed(): Promise<EmbedResult> {
    return Promise.reject(new AppError('AI_MODEL_NOT_FOUND', { message: 'Anthropic models do not offer embeddings.', details: { provider: this.name } }));
  }
}
