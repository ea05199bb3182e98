// Sends a tenant's request to its owning shard and absorbs moves: 421 → refresh + retry at the owner
// (bounded hops), 503-frozen → hold and retry until the hold limit (DESIGN §5).
import { AppError, toAppError } from '../errors/app-error.ts';
import type { ErrorCode } from '../errors/codes.ts';
import { shardById, type Manifest, type ManifestShard } from '../manifest/manifest-schema.ts';
import type { ManifestView } from '../manifest/manifest-poller.ts';
import type { Placement } from '../placement/rendezvous.ts';
import { errorResponse } from './error-response.ts';
import type { ShardReachability } from './shard-reachability.ts';

/** A request to send, before any Request object is built. */
export interface OutgoingParts {
  readonly method: string;
  /** Path and query, starting with '/'. */
  readonly pathAndQuery: string;
  readonly headers: Headers;
  readonly body: Uint8Array | ReadableStream<Uint8Array> | null;
  readonly signal?: AbortSignal;
}

/**
 * How the core reaches a shard; the Node adapter uses undici pools, a Worker uses fetch. Must honour
 * `req.signal`. A forwarder may also offer `parts`, which takes the request unbuilt: building a
 * Request (and a Web stream for its body) costs ~0.1 ms on Node 20, so the core prefers `parts`.
 */
export type Forwarder = ((shardUrl: string, req: Request) => Promise<Response>) & {
  readonly parts?: (shardUrl: string, out: OutgoingParts) => Promise<Response>;
};

/** Hooks for metrics; every label value is bounded (shard ids, fixed reasons). */
export interface RouterObserver {
  upstream?(shardId: string, status: number, seconds: number): void;
  upstreamError?(shardId: string, code: ErrorCode): void;
  retry?(reason: 'misdirected' | 'frozen'): void;
  hold?(outcome: 'released' | 'expired' | 'abandoned'): void;
  authThrottled?(): void;
}

export interface ForwardDeps {
  readonly manifest: ManifestView;
  readonly placement: Placement;
  readonly forward: Forwarder;
  readonly observer: RouterObserver;
  readonly maxHops: number;
  readonly holdLimitMs: number;
  readonly holdPollMs: number;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /** Shards known to be unreachable are not tried: their tenants get a clear 503 at once. */
  readonly reachability?: ShardReachability;
}

export interface OutgoingRequest {
  readonly tenantId: string;
  readonly method: string;
  /** Path and query, starting with '/'. */
  readonly pathAndQuery: string;
  readonly headers: Headers;
  /** A buffered body can be replayed on another shard; a stream cannot. */
  readonly body: Uint8Array | ReadableStream<Uint8Array> | null;
  readonly requestId: string;
  /** The client went away: stop retrying and holding, and abort the upstream request. */
  readonly signal?: AbortSignal;
}

export async function forwardToOwner(deps: ForwardDeps, out: OutgoingRequest): Promise<Response> {
  let manifest = deps.manifest.current() ?? (await deps.manifest.refresh());
  if (manifest === null) return errorResponse(new AppError('ROUTER_MANIFEST_UNAVAILABLE', { headers: { 'retry-after': '1' } }), out.requestId);
  let target = ownerShard(deps, manifest, out.tenantId);
  if (target === undefined) return errorResponse(new AppError('ROUTER_NO_OWNER', { details: { tenant: out.tenantId } }), out.requestId);

  const replayable = !(out.body instanceof ReadableStream);
  let hops = 0;
  let holdUntil: number | null = null;
  let pollMs = deps.holdPollMs;
  for (;;) {
    if (out.signal?.aborted === true) {
      if (holdUntil !== null) deps.observer.hold?.('abandoned');
      return errorResponse(new AppError('ROUTER_CLIENT_GONE'), out.requestId);
    }
    if (deps.reachability?.isDown(target.id) === true) {
      if (holdUntil !== null) deps.observer.hold?.('expired');
      return errorResponse(new AppError('ROUTER_SHARD_UNREACHABLE', { headers: { 'retry-after': '1' }, details: { shard: target.id } }), out.requestId);
    }
    const res = await sendOnce(deps, target, out);
    if (res.status === 421 && replayable) {
      deps.observer.retry?.('misdirected');
      const hinted = res.headers.get('x-openclawmu-owner');
      await res.body?.cancel();
      hops += 1;
      if (hops > deps.maxHops) return errorResponse(new AppError('ROUTER_TOO_MANY_HOPS', { details: { hops: deps.maxHops } }), out.requestId);
      manifest = (await deps.manifest.refresh()) ?? manifest;
      const next = (hinted !== null ? shardById(manifest, hinted) : undefined) ?? ownerShard(deps, manifest, out.tenantId);
      if (next === undefined) return errorResponse(new AppError('ROUTER_NO_OWNER', { details: { tenant: out.tenantId } }), out.requestId);
      target = next;
      continue;
    }
    if (res.status === 503 && res.headers.get('x-openclawmu-frozen') === '1' && replayable) {
      await res.body?.cancel();
      const t = deps.now();
      if (holdUntil === null) {
        holdUntil = t + deps.holdLimitMs;
        deps.observer.retry?.('frozen');
      }
      if (t >= holdUntil) {
        deps.observer.hold?.('expired');
        return errorResponse(new AppError('ROUTER_HOLD_EXPIRED', { headers: { 'retry-after': '1' }, details: { holdMs: deps.holdLimitMs } }), out.requestId);
      }
      await deps.sleep(Math.min(pollMs, holdUntil - t));
      pollMs = Math.min(pollMs * 2, 1000);
      // A move may have completed meanwhile: follow the (possibly new) owner.
      manifest = deps.manifest.current() ?? manifest;
      target = ownerShard(deps, manifest, out.tenantId) ?? target;
      continue;
    }
    if (holdUntil !== null) deps.observer.hold?.('released');
    return withRouterHeaders(res, out.requestId, target.id);
  }
}

function ownerShard(deps: ForwardDeps, manifest: Manifest, tenantId: string): ManifestShard | undefined {
  const id = deps.placement.ownerOf(tenantId, manifest);
  return id === null ? undefined : shardById(manifest, id);
}

async function sendOnce(deps: ForwardDeps, shard: ManifestShard, out: OutgoingRequest): Promise<Response> {
  const started = performance.now();
  try {
    let res: Response;
    if (deps.forward.parts !== undefined) {
      res = await deps.forward.parts(shard.url, { method: out.method, pathAndQuery: out.pathAndQuery, headers: out.headers, body: out.body, ...(out.signal === undefined ? {} : { signal: out.signal }) });
    } else {
      const init: RequestInit & { duplex?: 'half' } = { method: out.method, headers: out.headers, redirect: 'manual', ...(out.signal === undefined ? {} : { signal: out.signal }) };
      if (out.body !== null) {
        init.body = out.body as BodyInit;
        init.duplex = 'half';
      }
      res = await deps.forward(shard.url, new Request(shard.url + out.pathAndQuery, init));
    }
    deps.observer.upstream?.(shard.id, res.status, (performance.now() - started) / 1000);
    return res;
  } catch (err) {
    if (out.signal?.aborted === true) return errorResponse(new AppError('ROUTER_CLIENT_GONE'), out.requestId);
    const e = upstreamError(err, shard.id);
    deps.observer.upstreamError?.(shard.id, e.code);
    return errorResponse(e, out.requestId);
  }
}

/** Forwarder failures become ROUTER_UPSTREAM_DOWN unless they already carry a ROUTER_* code. */
export function upstreamError(err: unknown, shardId: string): AppError {
  const e = toAppError(err);
  if (e.code.startsWith('ROUTER_') || e.code === 'BODY_TOO_LARGE') return e;
  return new AppError('ROUTER_UPSTREAM_DOWN', { details: { shard: shardId }, cause: err });
}

function withRouterHeaders(res: Response, requestId: string, shardId: string): Response {
  try {
    // Responses a forwarder builds have mutable headers: no copy of the response needed.
    res.headers.set('x-request-id', requestId);
    res.headers.set('x-openclawmu-shard', shardId);
    return res;
  } catch {
    // fetch() responses have immutable headers: wrap.
    const headers = new Headers(res.headers);
    headers.set('x-request-id', requestId);
    headers.set('x-openclawmu-shard', shardId);
    return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
  }
}
