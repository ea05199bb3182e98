// Turns a tenant's `memory.embedder` setting into an Embedder, from what the operator offers.
import { AppError } from '../../router/errors/app-error.ts';
import type { Embedder } from './embedder.ts';
import { HashingEmbedder } from './hashing-embedder.ts';
import { OnnxEmbedder } from './onnx-embedder.ts';
import { OpenAiEmbedder } from './openai-embedder.ts';

/** The subset of an operator provider (shard config `providers`) an embedder needs. */
export interface EmbeddingProvider {
  readonly kind: string;
  readonly baseUrl: string;
  readonly apiKey?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}

export interface EmbedderDeps {
  /** Operator providers by name; only kind 'openai' ones can embed. */
  readonly providers?: Readonly<Record<string, EmbeddingProvider>>;
  /** Operator-named local ONNX model directories by name (tenants pick a name, never a path). */
  readonly onnxModels?: Readonly<Record<string, string>>;
}

export type EmbedderResolver = (spec: string) => Embedder;

const HASH = /^hash(?::([0-9]{1,4}))?$/;
const REMOTE = /^([a-z0-9][a-z0-9_-]{0,31})\/([A-Za-z0-9][A-Za-z0-9._:@/-]{0,199})$/;
const ONNX = /^onnx:([a-z0-9][a-z0-9_-]{0,31})$/;

function invalid(spec: string, reason: string): AppError {
  return new AppError('MEMORY_EMBEDDER_INVALID', { details: { embedder: spec.slice(0, 200), reason } });
}

/** A resolver that builds each embedder once and reuses it (ONNX sessions and HTTP pools are costly). */
export function createEmbedderResolver(deps: EmbedderDeps = {}): EmbedderResolver {
  const cache = new Map<string, Embedder>();
  return (spec) => {
    const hit = cache.get(spec);
    if (hit !== undefined) return hit;
    let made: Embedder;
    const h = HASH.exec(spec);
    const r = REMOTE.exec(spec);
    const o = ONNX.exec(spec);
    if (h !== null) {
      const dim = h[1] === undefined ? undefined : Number(h[1]);
      if (dim !== undefined && (dim < 8 || dim > 4096 || dim % 8 !== 0)) throw invalid(spec, 'hash dimension must be a multiple of 8 in 8..4096');
      made = new HashingEmbedder(dim === undefined ? {} : { dim });
    } else if (r !== null) {
      const provider = Object.hasOwn(deps.providers ?? {}, r[1] as string) ? deps.providers?.[r[1] as string] : undefined;
      if (provider === undefined) throw invalid(spec, 'no such provider');
      if (provider.kind !== 'openai') throw invalid(spec, 'the provider does not speak the OpenAI embeddings API');
      made = new OpenAiEmbedder({
        baseUrl: provider.baseUrl,
        model: r[2] as string,
        ...(provider.apiKey === undefined ? {} : { apiKey: provider.apiKey }),
        ...(provider.headers === undefined ? {} : { headers: provider.headers }),
        ...(provider.timeoutMs === undefined ? {} : { timeoutMs: provider.timeoutMs }),
      });
    } else if (o !== null) {
      const dir = Object.hasOwn(deps.onnxModels ?? {}, o[1] as string) ? deps.onnxModels?.[o[1] as string] : undefined;
      if (dir === undefined) throw invalid(spec, 'no such local model');
      made = new OnnxEmbedder({ name: o[1] as string, dir });
    } else {
      throw invalid(spec, 'unknown embedder');
    }
    cache.set(spec, made);
    return made;
  };
}
