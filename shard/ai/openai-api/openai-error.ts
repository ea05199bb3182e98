// Renders any error on /v1 model routes in OpenAI's error shape, keeping our status, code and headers.
import type { FastifyError, FastifyReply } from 'fastify';
import { AppError } from '../../../router/errors/app-error.ts';
import { openAiErrorBody } from '../../../router/errors/openai-error.ts';
import { fromFastifyError } from '../../http/error-handler.ts';

// The shape itself is shared with the router (router/errors/openai-error.ts).
export { openAiErrorBody, openAiErrorType } from '../../../router/errors/openai-error.ts';

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
