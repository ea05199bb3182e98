// JSON-RPC 2.0 dispatch over one frame: batches, notifications, the spec's error codes, and the
// project's error table for application errors. Transport-free: /rpc and /ws both call it.
import type { AppError } from '../../router/errors/app-error.ts';
import { toAppError } from '../../router/errors/app-error.ts';
import { parseWith } from '../../router/errors/zod-error.ts';
import { ERROR_CODES, type ErrorCode } from '../../router/errors/codes.ts';
import { refuseGraceCredential } from '../auth/grace-credential.ts';
import { assertDiskRoom } from '../limits/disk-quota.ts';
import { responseTooLarge, rpcCallBudget, type ResponseLimits } from '../limits/response-bounds.ts';
import type { RpcContext, RpcMethod } from './rpc-method.ts';

type Id = string | number | null;

export interface RpcErrorObject {
  code: number;
  message: string;
  data?: { code: ErrorCode; details?: Record<string, unknown> };
}

export type RpcResponse = { jsonrpc: '2.0'; id: Id; result: unknown } | { jsonrpc: '2.0'; id: Id; error: RpcErrorObject };

export interface DispatchOptions {
  methods: ReadonlyMap<string, RpcMethod>;
  maxBatch: number;
  /** Builds the per-call context; may throw an AppError (ownership, auth), answered as an RPC error. */
  context: () => RpcContext;
  /** Response bounds: one call's answer and a batch's answers together. */
  responseLimits: ResponseLimits;
  /** Observes each call (metrics, logs). */
  onCall?: (method: string | null, outcome: 'ok' | 'error', err?: AppError) => void;
}

export function rpcError(id: Id, code: ErrorCode, details?: Record<string, unknown>, message?: string): RpcResponse {
  const spec = ERROR_CODES[code];
  return {
    jsonrpc: '2.0',
    id,
    error: { code: spec.rpc, message: message ?? spec.message, data: details === undefined ? { code } : { code, details } },
  };
}

function errorResponse(id: Id, err: AppError): RpcResponse {
  return rpcError(id, err.code, err.details, err.message);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function validId(v: unknown): v is Id {
  return v === null || typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));
}

/**
 * Dispatches a raw frame; returns the response text, or null when nothing is to be sent. Each call
 * of a batch may answer its share of the batch's response bound (`ctx.resultBudgetBytes`, which
 * paging methods read); a result past it is replaced by RESPONSE_TOO_LARGE before it is sent.
 */
export async function dispatchRpcFrame(frame: string, opts: DispatchOptions): Promise<string | null> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(frame);
  } catch {
    opts.onCall?.(null, 'error');
    return JSON.stringify(rpcError(null, 'RPC_PARSE_ERROR'));
  }
  if (!Array.isArray(parsed)) return dispatchOne(parsed, opts, rpcCallBudget(1, opts.responseLimits));
  if (parsed.length === 0) return JSON.stringify(rpcError(null, 'RPC_INVALID_REQUEST', { reason: 'empty batch' }));
  if (parsed.length > opts.maxBatch) return JSON.stringify(rpcError(null, 'RPC_BATCH_TOO_LARGE', { max: opts.maxBatch }));
  const budget = rpcCallBudget(parsed.length, opts.responseLimits);
  const texts = (await Promise.all(parsed.map((item) => dispatchOne(item, opts, budget)))).filter((r): r is string => r !== null);
  return texts.length === 0 ? null : `[${texts.join(',')}]`;
}

/** One call, answered as JSON text (null for a notification). */
async function dispatchOne(req: unknown, opts: DispatchOptions, budget: number): Promise<string | null> {
  const res = await callOne(req, opts, budget);
  if (res === null) return null;
  const text = JSON.stringify(res);
  if ('result' in res && Buffer.byteLength(text) > budget) {
    const method = isObject(req) ? String(req['method']).slice(0, 100) : 'call';
    return JSON.stringify(errorResponse(res.id, responseTooLarge(method, Buffer.byteLength(text), budget, 'ask for less (a smaller limit) or send this call alone')));
  }
  return text;
}

async function callOne(req: unknown, opts: DispatchOptions, budget: number): Promise<RpcResponse | null> {
  if (!isObject(req) || req['jsonrpc'] !== '2.0' || typeof req['method'] !== 'string' || ('id' in req && !validId(req['id']))) {
    opts.onCall?.(null, 'error');
    const id = isObject(req) && validId(req['id']) ? (req['id'] as Id) : null;
    return rpcError(id, 'RPC_INVALID_REQUEST');
  }
  const isNotification = !('id' in req);
  const id: Id = isNotification ? null : (req['id'] as Id);
  const params = req['params'];
  if (params !== undefined && typeof params !== 'object') {
    opts.onCall?.(null, 'error');
    return isNotification ? null : rpcError(id, 'RPC_INVALID_REQUEST', { reason: 'params must be an object or array' });
  }
  const method = opts.methods.get(req['method']);
  if (method === undefined) {
    opts.onCall?.(null, 'error');
    return isNotification ? null : rpcError(id, 'RPC_METHOD_NOT_FOUND', { method: String(req['method']).slice(0, 100) });
  }
  try {
    const ctx: RpcContext = { ...opts.context(), resultBudgetBytes: budget };
    // Who may call comes before what was sent: a grace token learns nothing from validation errors.
    if (method.changesCredentials === true) refuseGraceCredential(ctx.tenant.actor);
    const checked = parseWith(method.params, params ?? {}, { code: 'VALIDATION_FAILED', prefix: `Invalid params for ${method.name}`, root: '(params)' });
    if (method.writesDisk === true) assertDiskRoom(ctx.tenant, Buffer.byteLength(JSON.stringify(params ?? {})));
    const result = await method.handler(ctx, checked);
    opts.onCall?.(method.name, 'ok');
    return isNotification ? null : { jsonrpc: '2.0', id, result: result === undefined ? null : result };
  } catch (err) {
    const appErr = toAppError(err);
    opts.onCall?.(method.name, 'error', appErr);
    return isNotification ? null : errorResponse(id, appErr);
  }
}
