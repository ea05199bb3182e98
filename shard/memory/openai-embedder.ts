// An embedder over any OpenAI-compatible POST /embeddings endpoint (through an operator provider).
import { request } from 'undici';
import { z } from 'zod';
import { AppError } from '../../router/errors/app-error.ts';
import type { Embedder } from './embedder.ts';
import { l2normalise } from './embedder.ts';

export interface OpenAiEmbedderOptions {
  /** Base URL ending before `/embeddings`, e.g. https://api.openai.com/v1. */
  readonly baseUrl: string;
  readonly apiKey?: string;
  readonly model: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
  /** Inputs per request (OpenAI accepts up to 2048; smaller batches keep requests short). */
  readonly batchSize?: number;
  /** Asked of the upstream (text-embedding-3 models accept it). */
  readonly dimensions?: number;
}

const ResponseSchema = z.object({
  data: z
    .array(z.object({ index: z.number().int().min(0), embedding: z.array(z.number()) }))
    .min(0),
});

const MAX_BODY = 64 * 1024 * 1024;

export class OpenAiEmbedder implements Embedder {
  readonly kind = 'openai';
  readonly model: string;
  private readonly opts: OpenAiEmbedderOptions;

  constructor(opts: OpenAiEmbedderOptions) {
    this.opts = opts;
    this.model = opts.dimensions === undefined ? opts.model : `${opts.model}@${opts.dimensions}`;
  }

  async embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    const size = this.opts.batchSize ?? 96;
    for (let i = 0; i < texts.length; i += size) out.push(...(await this.batch(texts.slice(i, i + size), signal)));
    const dim = out[0]?.length;
    if (out.some((v) => v.length !== dim || v.length === 0)) throw this.unavailable('the upstream returned vectors of different sizes');
    return out;
  }

  private unavailable(reason: string, extra: Record<string, unknown> = {}, cause?: unknown): AppError {
    return new AppError('MEMORY_EMBEDDER_UNAVAILABLE', { details: { embedder: this.kind, model: this.opts.model, reason, ...extra }, cause });
  }

  private async batch(input: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
    const url = `${this.opts.baseUrl.replace(/\/+$/, '')}/embeddings`;
    const headers: Record<string, string> = { 'content-type': 'application/json', ...this.opts.headers };
    if (this.opts.apiKey !== undefined) headers.authorization = `Bearer ${this.opts.apiKey}`;
    const body: Record<string, unknown> = { model: this.opts.model, input, encoding_format: 'float' };
    if (this.opts.dimensions !== undefined) body.dimensions = this.opts.dimensions;
    const timeout = AbortSignal.timeout(this.opts.timeoutMs ?? 30_000);
    let res;
    try {
      res = await request(url, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
      });
    } catch (err) {
      throw this.unavailable('request failed', {}, err);
    }
    const len = Number(res.headers['content-length'] ?? 0);
    if (res.statusCode !== 200 || len > MAX_BODY) {
      await res.body.dump();
      throw this.unavailable('upstream answered an error', { status: res.statusCode });
    }
    let parsed;
    try {
      parsed = ResponseSchema.parse(await res.body.json());
    } catch (err) {
      throw this.unavailable('upstream answered a malformed body', {}, err);
    }
    const vectors: (Float32Array | undefined)[] = new Array(input.length);
    for (const d of parsed.data) {
      if (d.index < input.length) vectors[d.index] = l2normalise(Float32Array.from(d.embedding));
    }
    if (vectors.some((v) => v === undefined) || parsed.data.length !== input.length) {
      throw this.unavailable('upstream answered the wrong number of vectors');
    }
    return vectors as Float32Array[];
  }
}
