// The router's own error answers: the project's error body, the code's status, and the request id.
import { AppError, errorBody } from '../errors/app-error.ts';
import type { ErrorCode } from '../errors/codes.ts';

export function errorResponse(err: AppError, requestId: string): Response {
  const headers = new Headers({ 'content-type': 'application/json; charset=utf-8', 'x-request-id': requestId, 'x-openclawmu-error-source': 'router' });
  for (const [k, v] of Object.entries(err.headers ?? {})) headers.set(k, v);
  return new Response(JSON.stringify(errorBody(err)), { status: err.status, headers });
}

export function routerError(code: ErrorCode, requestId: string, opts: ConstructorParameters<typeof AppError>[1] = {}): Response {
  return errorResponse(new AppError(code, opts), requestId);
}

export function jsonResponse(body: unknown, requestId: string, status = 200, extra: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'x-request-id': requestId, ...extra },
  });
}
