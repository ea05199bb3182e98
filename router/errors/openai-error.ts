// OpenAI's error shape ({error: {message, type, param, code}}) for the OpenAI-compatible routes,
// one definition for the shard's /v1 model routes and the router's own answers on those paths.
import type { AppError } from './app-error.ts';

export function openAiErrorType(e: AppError): string {
  if (e.code === 'QUOTA_REQUESTS_MINUTE' || e.code === 'QUOTA_CONCURRENT_SESSIONS' || e.code === 'AUTH_TOO_MANY_FAILURES') return 'rate_limit_error';
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

// The control plane lives under /v1 too; it keeps the project's own error shape.
const CONTROL_PLANE = /^\/v1\/(?:tenants|fleet|shard)(?:\/|$)/;

/** Whether errors on this path take OpenAI's shape: the OpenAI-compatible surface, /v1 minus the control plane. */
export function isOpenAiPath(pathname: string): boolean {
  return pathname.startsWith('/v1/') && !CONTROL_PLANE.test(pathname);
}
