// The router's own error answers: the project's error body (OpenAI's on the OpenAI-compatible
// paths), the code's status, and the request id.
import { AppError, errorBody } from '../errors/app-error.ts';
import type { ErrorCode } from '../errors/codes.ts';
import { isOpenAiPath, openAiErrorBody } from '../errors/openai-error.ts';

const made = new WeakMap<Response, AppError>();

/** `pathname` given: the body takes the shape of that path (OpenAI's under /v1, minus the control plane). */
export function errorResponse(err: AppError, requestId: string, pathname?: string): Response {
  const headers = new Headers({ 'content-type': 'application/json; charset=utf-8', 'x-request-id': requestId, 'x-openclawmu-error-source': 'router' });
  for (const [k, v] of Object.entries(err.headers ?? {})) headers.set(k, v);
  const body = pathname !== undefined && isOpenAiPath(pathname) ? openAiErrorBody(err) : errorBody(err);
  const res = new Response(JSON.stringify(body), { status: err.status, headers });
  made.set(res, err);
  return res;
}

/** The error a router-made response carries, so an outer layer can render it for its path. */
export function routerErrorOf(res: Response): AppError | undefined {
  return made.get(res);
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
