// One upstream HTTP call over undici: timeouts, retries only before the first byte, abort that
// reaches the upstream socket, and errors mapped to the project's codes.
import { errors as undiciErrors, request, type Dispatcher } from 'undici';
import { AppError, isAppError } from '../../../router/errors/app-error.ts';
import { safeUpstreamText } from './provider-secrets.ts';

export interface UpstreamCall {
  url: string;
  headers: Record<string, string>;
  body: unknown;
  timeoutMs: number;
  maxRetries: number;
  dispatcher: Dispatcher;
  signal: AbortSignal;
  /** Provider name for error details (never the key). */
  provider: string;
  /** Strings (API key, header values) that must never appear in an error we pass on. */
  secrets?: readonly string[];
}

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
}

const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const RETRYABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);

function backoffMs(attempt: number, retryAfter: string | string[] | undefined): number {
  const ra = Array.isArray(retryAfter) ? retryAfter[0] : retryAfter;
  const secs = ra === undefined ? NaN : Number(ra);
  if (Number.isFinite(secs) && secs >= 0) return Math.min(secs * 1000, 2000);
  return Math.min(50 * 2 ** attempt, 1000);
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Maps a transport error to an AppError (aborts are rethrown as they are). */
export function mapTransportError(err: unknown, provider: string, signal: AbortSignal): unknown {
  if (signal.aborted) return err;
  if (isAppError(err)) return err;
  const cause = (err as { cause?: unknown }).cause;
  if (isAppError(cause)) return cause; // the SSRF guard's refusal travels as the connect error's cause
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError || err instanceof undiciErrors.ConnectTimeoutError) {
    return new AppError('AI_PROVIDER_TIMEOUT', { details: { provider }, cause: err });
  }
  return new AppError('AI_PROVIDER_ERROR', { details: { provider, reason: (err as { code?: string }).code ?? 'transport' }, cause: err });
}

/**
 * POSTs JSON and returns the response once its headers are in. Retries (with backoff) on
 * connection failures and retryable statuses; once a 2xx arrives it is the caller's, no retry.
 * A non-2xx final answer becomes AI_PROVIDER_ERROR carrying the upstream status and message.
 */
export async function postUpstream(call: UpstreamCall): Promise<UpstreamResponse> {
  const payload = JSON.stringify(call.body);
  for (let attempt = 0; ; attempt++) {
    let res: Dispatcher.ResponseData;
    try {
      res = await request(call.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...call.headers },
        body: payload,
        dispatcher: call.dispatcher,
        signal: call.signal,
        headersTimeout: call.timeoutMs,
        bodyTimeout: call.timeoutMs,
      });
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      if (!call.signal.aborted && attempt < call.maxRetries && RETRYABLE_CODES.has(code)) {
        await delay(backoffMs(attempt, undefined), call.signal);
        continue;
      }
      throw mapTransportError(err, call.provider, call.signal);
    }
    if (res.statusCode >= 200 && res.statusCode < 300) return { status: res.statusCode, headers: res.headers, body: res.body };
    const text = await res.body.text().catch(() => '');
    if (attempt < call.maxRetries && RETRYABLE_STATUS.has(res.statusCode)) {
      await delay(backoffMs(attempt, res.headers['retry-after']), call.signal);
      continue;
    }
    throw new AppError('AI_PROVIDER_ERROR', {
      message: `The model provider answered ${res.statusCode}: ${upstreamMessage(text, call.secrets ?? [])}`,
      details: { provider: call.provider, upstreamStatus: res.statusCode },
    });
  }
}

/** The upstream's own words, redacted before they are cut (some upstreams echo the key they were given). */
function upstreamMessage(text: string, secrets: readonly string[]): string {
  try {
    const j = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    const m = typeof j.error === 'string' ? j.error : (j.error?.message ?? j.message);
    if (typeof m === 'string') return safeUpstreamText(m, secrets, 500);
  } catch {
    // not JSON: fall through
  }
  return safeUpstreamText(text, secrets, 200) || 'no body';
}
