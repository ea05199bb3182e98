// One HTTP call to a messaging platform, classified for durable egress: a failure before any byte
// left (connect refused, SSRF refusal) is `notSent` and may be retried; a failure after is ambiguous.
import { request, type Dispatcher } from 'undici';
import { AppError } from '../../router/errors/app-error.ts';

export class ChannelSendError extends AppError {
  /** The platform may have acted on the request (never resend blindly). */
  readonly ambiguous: boolean;
  /** Seconds the platform asked to wait (429), when it said. */
  readonly retryAfterSeconds: number | undefined;

  constructor(opts: { ambiguous: boolean; status?: number; platformError?: string; retryAfterSeconds?: number; cause?: unknown }) {
    super('CHANNEL_PLATFORM_ERROR', {
      details: { ambiguous: opts.ambiguous, ...(opts.status === undefined ? {} : { status: opts.status }), ...(opts.platformError === undefined ? {} : { platformError: opts.platformError.slice(0, 200) }) },
      cause: opts.cause,
    });
    this.ambiguous = opts.ambiguous;
    this.retryAfterSeconds = opts.retryAfterSeconds;
  }
}

const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET_NOT_CONNECTED']);

function notSent(err: unknown): boolean {
  if (err instanceof AppError) return err.code === 'AI_SSRF_BLOCKED';
  const code = (err as { code?: unknown }).code;
  const causeCode = ((err as { cause?: { code?: unknown } }).cause ?? {}).code;
  return (typeof code === 'string' && NOT_SENT_CODES.has(code)) || (typeof causeCode === 'string' && NOT_SENT_CODES.has(causeCode));
}

export interface PlatformResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

export async function platformCall(
  url: string,
  init: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string; dispatcher: Dispatcher; timeoutMs: number; signal?: AbortSignal },
): Promise<PlatformResponse> {
  let res: Dispatcher.ResponseData;
  try {
    res = await request(url, {
      method: init.method ?? 'POST',
      headers: init.headers,
      body: init.body,
      dispatcher: init.dispatcher,
      headersTimeout: init.timeoutMs,
      bodyTimeout: init.timeoutMs,
      signal: init.signal,
    });
  } catch (err) {
    throw new ChannelSendError({ ambiguous: !notSent(err), cause: err });
  }
  let text: string;
  try {
    text = await res.body.text();
  } catch (err) {
    throw new ChannelSendError({ ambiguous: true, status: res.statusCode, cause: err });
  }
  let body: unknown = text;
  try {
    body = text === '' ? null : (JSON.parse(text) as unknown);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.statusCode, headers: res.headers, body };
}
