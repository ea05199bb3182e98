// Upper bounds of answers whose size the caller controls, computed before the work is done: an
// answer past its bound is refused (RESPONSE_TOO_LARGE) or paged, never built and then sent.
import { AppError } from '../../router/errors/app-error.ts';

/** Longest JSON text of one float64 with its separator ("-1.2345678901234567e-10,"). */
export const JSON_FLOAT_BYTES = 24;
/** A float32 in base64: 4 bytes → 16/3 characters. */
export const BASE64_FLOAT_BYTES = 16 / 3;
/** Per-item JSON around an embedding ({"object":"embedding","index":2047,"embedding":...}). */
const EMBEDDING_ITEM_BYTES = 64;
const ENVELOPE_BYTES = 512;
/** When the caller gives no `dimensions`, the largest native size among common embedding models. */
export const ASSUMED_EMBEDDING_DIMENSIONS = 3072;

export interface ResponseLimits {
  /** One answer: an HTTP body, or one JSON-RPC call's response. */
  readonly responseMaxBytes: number;
  /** All responses of one JSON-RPC batch together. */
  readonly rpcBatchResponseMaxBytes: number;
}

/** The largest /v1/embeddings answer for this request. */
export function embeddingsBound(req: { inputs: number; dimensions: number | undefined; encoding: 'float' | 'base64' | undefined }): number {
  const perFloat = req.encoding === 'base64' ? BASE64_FLOAT_BYTES : JSON_FLOAT_BYTES;
  const dims = req.dimensions ?? ASSUMED_EMBEDDING_DIMENSIONS;
  return ENVELOPE_BYTES + req.inputs * (EMBEDDING_ITEM_BYTES + Math.ceil(dims * perFloat));
}

/** The bound of an embeddings answer whose vectors are already known (the upstream chose the size). */
export function embeddingsBoundOf(vectors: readonly (readonly number[])[], encoding: 'float' | 'base64' | undefined): number {
  const perFloat = encoding === 'base64' ? BASE64_FLOAT_BYTES : JSON_FLOAT_BYTES;
  let floats = 0;
  for (const v of vectors) floats += v.length;
  return ENVELOPE_BYTES + vectors.length * EMBEDDING_ITEM_BYTES + Math.ceil(floats * perFloat);
}

export function responseTooLarge(what: string, bound: number, max: number, hint: string): AppError {
  return new AppError('RESPONSE_TOO_LARGE', {
    message: `The answer to ${what} could reach ${bound} bytes, over the limit of ${max}: ${hint}`,
    details: { what, bound, max },
  });
}

/** Refuses before the work when the computed bound is over `max`. */
export function assertWithinBound(what: string, bound: number, max: number, hint: string): void {
  if (bound > max) throw responseTooLarge(what, bound, max, hint);
}

/**
 * The bytes one call of a batch of `calls` may answer: its share of the batch's bound, never more
 * than one answer's. A batch's answers together then stay within the batch bound.
 */
export function rpcCallBudget(calls: number, limits: ResponseLimits): number {
  return Math.max(1, Math.min(limits.responseMaxBytes, Math.floor(limits.rpcBatchResponseMaxBytes / Math.max(1, calls))));
}
