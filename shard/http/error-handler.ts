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

export function installErrorHandling(app: FastifyInstance): void {
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
