// An embedder through the shard's model gateway (operator providers and aliases, quota, ledger).
import { AppError, isAppError } from '../../router/errors/app-error.ts';
import type { TenantContext } from '../tenants/tenant-context.ts';
import type { Embedder } from './embedder.ts';
import { l2normalise } from './embedder.ts';

/** What the AI service offers: embed `input` with `model` for `tenant` (billed to it). */
export type ModelEmbed = (tenant: TenantContext, model: string, input: string[], signal: AbortSignal) => Promise<number[][]>;

export class GatewayEmbedder implements Embedder {
  readonly kind = 'model';
  readonly model: string;
  private readonly tenant: TenantContext;
  private readonly call: ModelEmbed;

  constructor(tenant: TenantContext, model: string, call: ModelEmbed) {
    this.tenant = tenant;
    this.model = model;
    this.call = call;
  }

  async embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    let vectors: number[][];
    try {
      vectors = await this.call(this.tenant, this.model, [...texts], signal ?? new AbortController().signal);
    } catch (err) {
      // Quota refusals and upstream failures alike make the embedder unavailable for this call:
      // writes fail cleanly and search degrades to keywords. The original code stays visible.
      throw new AppError('MEMORY_EMBEDDER_UNAVAILABLE', {
        details: { embedder: this.kind, model: this.model, reason: isAppError(err) ? err.code : 'model call failed' },
        cause: err,
      });
    }
    const dim = vectors[0]?.length ?? 0;
    if (vectors.length !== texts.length || dim === 0 || vectors.some((v) => v.length !== dim)) {
      throw new AppError('MEMORY_EMBEDDER_UNAVAILABLE', { details: { embedder: this.kind, model: this.model, reason: 'the model returned malformed vectors' } });
    }
    return vectors.map((v) => l2normalise(Float32Array.from(v)));
  }
}
