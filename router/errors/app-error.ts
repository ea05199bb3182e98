// The typed error every part of the project throws; unknown throws are converted in one place each side.
import { ERROR_CODES, type ErrorCode } from './codes.ts';

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly rpcCode: number;
  /** Safe-to-show details (field names, limits); never secrets. */
  readonly details: Record<string, unknown> | undefined;
  /** Extra HTTP headers the edge should send (Retry-After, x-openclawmu-owner, ...). */
  readonly headers: Record<string, string> | undefined;

  constructor(
    code: ErrorCode,
    opts: { message?: string; details?: Record<string, unknown>; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    const spec = ERROR_CODES[code];
    super(opts.message ?? spec.message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = spec.status;
    this.rpcCode = spec.rpc;
    this.details = opts.details;
    this.headers = opts.headers;
  }

  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}

/** The one conversion of unknown throws into an AppError (cause kept). */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const sys = err as { code?: unknown; address?: unknown; port?: unknown } | null;
  if (sys !== null && typeof sys === 'object' && sys.code === 'EADDRINUSE') {
    const where = typeof sys.port === 'number' ? `${typeof sys.address === 'string' ? sys.address : ''}:${sys.port}` : '';
    return new AppError('LISTEN_ADDRESS_IN_USE', { message: `Port in use: ${where || 'the address'} is taken by another process (choose another --port).`, details: where === '' ? {} : { address: where }, cause: err });
  }
  return new AppError('INTERNAL', { cause: err });
}

/** The body shape of every error the HTTP surfaces (other than /v1 OpenAI routes) answer. */
export function errorBody(err: AppError): { error: { code: ErrorCode; message: string; details?: Record<string, unknown> } } {
  return { error: err.toJSON() };
}
