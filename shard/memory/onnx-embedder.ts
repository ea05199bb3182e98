// A local embedder over an ONNX sentence-embedding model in an operator-named directory (optional dependency).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { AppError } from '../../router/errors/app-error.ts';
import type { Embedder } from './embedder.ts';
import { l2normalise } from './embedder.ts';
import { WordPieceTokenizer } from './wordpiece-tokenizer.ts';

/** Optional `embedder.json` beside model.onnx and vocab.txt. */
const ModelConfigSchema = z
  .object({
    lowercase: z.boolean().default(true),
    maxTokens: z.number().int().min(4).max(8192).default(256),
    pooling: z.enum(['mean', 'cls']).default('mean'),
    /** The output to pool; default: the model's first output (e.g. last_hidden_state). */
    output: z.string().max(200).optional(),
  })
  .strict();

// The slice of onnxruntime-node this module uses (the package is optional, so its types are not imported).
interface OrtTensor {
  readonly data: Float32Array | BigInt64Array;
  readonly dims: readonly number[];
}
interface OrtSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
}
interface Ort {
  Tensor: new (type: 'int64', data: BigInt64Array, dims: number[]) => OrtTensor;
  InferenceSession: { create(path: string, opts?: Record<string, unknown>): Promise<OrtSession> };
}

/** Imports onnxruntime-node on first use; undefined when it is not installed. */
async function loadOrt(): Promise<Ort | undefined> {
  const name = 'onnxruntime-node';
  try {
    const mod = (await import(name)) as Ort & { default?: Ort };
    return mod.InferenceSession === undefined ? mod.default : mod;
  } catch {
    return undefined;
  }
}

export class OnnxEmbedder implements Embedder {
  readonly kind = 'onnx';
  readonly model: string;
  private readonly dir: string;
  private loaded: Promise<{ ort: Ort; session: OrtSession; tok: WordPieceTokenizer; cfg: z.infer<typeof ModelConfigSchema> }> | undefined;

  constructor(opts: { name: string; dir: string }) {
    this.model = opts.name;
    this.dir = opts.dir;
  }

  private unavailable(reason: string, cause?: unknown): AppError {
    return new AppError('MEMORY_EMBEDDER_UNAVAILABLE', { details: { embedder: this.kind, model: this.model, reason }, cause });
  }

  private load(): ReturnType<typeof this.doLoad> {
    this.loaded ??= this.doLoad();
    // A failed load is retried on the next call (the operator may install the package meanwhile).
    this.loaded.catch(() => (this.loaded = undefined));
    return this.loaded;
  }

  private async doLoad(): Promise<{ ort: Ort; session: OrtSession; tok: WordPieceTokenizer; cfg: z.infer<typeof ModelConfigSchema> }> {
    const ort = await loadOrt();
    if (ort === undefined) throw this.unavailable('onnxruntime-node is not installed (npm install onnxruntime-node)');
    let cfg;
    try {
      const raw = await readFile(join(this.dir, 'embedder.json'), 'utf8').catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? '{}' : Promise.reject(err)));
      cfg = ModelConfigSchema.parse(JSON.parse(raw));
      const tok = new WordPieceTokenizer(await readFile(join(this.dir, 'vocab.txt'), 'utf8'), cfg);
      const session = await ort.InferenceSession.create(join(this.dir, 'model.onnx'), { executionProviders: ['cpu'], intraOpNumThreads: 1 });
      return { ort, session, tok, cfg };
    } catch (err) {
      throw this.unavailable('cannot load the model directory (model.onnx, vocab.txt, embedder.json)', err);
    }
  }

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    const { ort, session, tok, cfg } = await this.load();
    const out: Float32Array[] = [];
    // One text per run: no padding, and a long batch never holds a huge tensor.
    for (const text of texts) {
      const enc = tok.encode(text);
      const n = enc.ids.length;
      const feeds: Record<string, OrtTensor> = {};
      for (const name of session.inputNames) {
        const data = name.includes('mask') ? enc.mask : name.includes('type') ? enc.ids.map(() => 0) : enc.ids;
        feeds[name] = new ort.Tensor('int64', BigInt64Array.from(data, (x) => BigInt(x)), [1, n]);
      }
      let result;
      try {
        result = await session.run(feeds);
      } catch (err) {
        throw this.unavailable('inference failed', err);
      }
      const t = result[cfg.output ?? (session.outputNames[0] as string)];
      if (t === undefined || !(t.data instanceof Float32Array) || t.dims.length !== 3 || t.dims[1] !== n) {
        throw this.unavailable('the model output is not [1, tokens, dim] float32');
      }
      const dim = t.dims[2] as number;
      const v = new Float32Array(dim);
      if (cfg.pooling === 'cls') v.set(t.data.subarray(0, dim));
      else {
        for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) v[j] = (v[j] as number) + (t.data[i * dim + j] as number) / n;
      }
      out.push(l2normalise(v));
    }
    return out;
  }
}
