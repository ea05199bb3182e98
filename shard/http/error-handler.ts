// The one place HTTP errors are rendered: AppError → status, headers, {error:{code,message,details}}.
import type { FastifyError, FastifyInstance } from 'fastify';
import { AppError, errorBody, toAppError } from '../../router/errors/app-error.ts';

/** Maps Fastify's own errors (body parsing, limits) onto the project's codes. */
export function fromFastifyError(err: FastifyError | AppError | Error): AppError {
  if (err instanceof AppError) return err;
  const code = (err as FastifyError).code;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new AppError('BODY_TOO_LARGE', { cause: err });
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new AppError('BAD_REQUEST', { message: 'Unsupported content type; send application/json.', cause: err });
  if (code !== undefined && code.startsWith('FST_ERR_CTP')) return new AppError('BAD_REQUEST', { message: 'The body is not valid JSON.', cause: err });
  const status = (err as FastifyError).statusCode;
  if (status !== undefined && status >= 400 && status < 500) return new AppError('BAD_REQUEST', { message: err.message, cause: err });
  return toAppError(err);
}

/**
 * An upload refused before it was read (413 on content-length, or past the limit mid-stream) is
 * still read and discarded, up to this many bytes, instead of closing the connection at once.
 * Fastify closes it, and the client's (or router's) next write then meets a reset that can destroy
 * the 413 before it is read: through the router that became `502 EPIPE` (issue 11 item 8).
 */
export const DRAIN_REFUSED_UPLOAD_BYTES = 64 * 1024 * 1024;

export function installErrorHandling(app: FastifyInstance): void {
  app.addHook('onSend', async (req, reply) => {
    if (reply.statusCode !== 413 || req.raw.complete) return;
    // Keep the connection: Node reads (and drops) the rest of the request once the answer is sent.
    // A sender that goes on past the cap loses the connection.
    reply.removeHeader('connection');
    let drained = 0;
    req.raw.on('data', (chunk: Buffer) => {
      drained += chunk.length;
      if (drained > DRAIN_REFUSED_UPLOAD_BYTES) req.raw.socket.destroy();
    });
    req.raw.resume();
  });
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const appErr = fromFastifyError(err);
    if (appErr.status >= 500) req.log.error({ err: appErr.cause ?? appErr, code: appErr.code }, 'request failed');
    for (const [k, v] of Object.entries(appErr.headers ?? {})) void reply.header(k, v);
    return reply.code(appErr.status).send(errorBody(appErr));
  });
  app.setNotFoundHandler((req, reply) => {
    const err = new AppError('NOT_FOUND', { details: { method: req.method, path: req.url.split('?')[0]?.slice(0, 200) } });
    return reply.code(404).send(errorBody(err));
  });
}
