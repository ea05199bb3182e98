// Renders any error on /v1 model routes in OpenAI's error shape, keeping our status, code and headers.
import type { FastifyError, FastifyReply } from 'fastify';
import { AppError } from '../../../router/errors/app-error.ts';
import { fromFastifyError } from '../../http/error-handler.ts';

export function openAiErrorType(e: AppError): string {
  if (e.code === 'QUOTA_REQUESTS_MINUTE' || e.code === 'QUOTA_CONCURRENT_SESSIONS') return 'rate_limit_error';
  if (e.status === 429) return 'insufficient_quota';
  if (e.status === 400 || e.status === 413 || e.status === 409) return 'invalid_request_error';
  if (e.status === 401) return 'authentication_error';
  if (e.status === 403) return 'permission_error';
  if (e.status === 404) return 'not_found_error';
  return 'api_error';
}

export function openAiErrorBody(e: AppError): { error: Record<string, unknown> } {
  const body: Record<string, unknown> = { message: e.message, type: openAiErrorType(e), param: (e.details?.['field'] as string | undefined) ?? null, code: e.code };
  if (e.details !== undefined) body['details'] = e.details;
  return { error: body };
}

export function sendOpenAiError(reply: FastifyReply, err: unknown): FastifyReply {
  // the client went away: nobody to answer and nothing went wrong on our side
  if (reply.raw.destroyed || reply.raw.writableEnded) return reply;
  const e = fromFastifyError(err as FastifyError);
  if (e.status >= 500) reply.log.error({ err: e.cause ?? e, code: e.code }, 'model route failed');
  for (const [k, v] of Object.entries(e.headers ?? {})) void reply.header(k, v);
  return reply.code(e.status).send(openAiErrorBody(e));
}

/** The frame sent inside an SSE stream when a failure happens after the headers went out. */
export function sseErrorFrame(err: unknown): string {
  const e = err instanceof AppError ? err : new AppError('INTERNAL', { cause: err });
  return `data: ${JSON.stringify(openAiErrorBody(e))}\n\n`;
}
