// The Node fast path for the common request: a tenant token, a small body (or none), an owner in the
// manifest. It forwards with one undici dispatch and no Request/Response/Headers objects (headers
// stay flat string arrays both ways), which is what a Node proxy needs to keep up with HAProxy.
// Everything else goes to the runtime-neutral core, which stays the reference behaviour:
//   - router-owned paths, no manifest, no owner, a chunked or large body, a Connection header that
//     lists extra hop-by-hop headers, an address the auth throttle refuses: never taken here;
//   - a 421 (stale manifest) or a 503 with x-openclawmu-frozen: the answer is discarded and the
//     request (its body is in memory) is handed to the core, which retries and holds (after a 421
//     the manifest is refreshed first, so the core's first try goes to the new owner).
// A client that leaves before the answer aborts the upstream request.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type pino from 'pino';
import type { Dispatcher } from 'undici';
import { AppError, isAppError } from '../errors/app-error.ts';
import { throttleSubject, type AuthThrottle, type ThrottleSubject } from '../core/auth-throttle.ts';
import { clientAddressOf, type TrustedProxies } from '../core/client-address.ts';
import { HOP_BY_HOP_REQUEST, requestIdOf } from '../core/request-id.ts';
import { errorResponse } from '../core/error-response.ts';
import { upstreamError, type RouterObserver } from '../core/forward-to-owner.ts';
import type { ShardReachability } from '../core/shard-reachability.ts';
import { bearerOf, parseTenantToken } from '../identity/tenant-id.ts';
import type { ManifestView } from '../manifest/manifest-poller.ts';
import { shardById, type Manifest, type ManifestShard } from '../manifest/manifest-schema.ts';
import type { Placement } from '../placement/rendezvous.ts';
import { mapUndiciError } from './undici-forwarder.ts';

export interface FastPathDeps {
  readonly manifest: ManifestView;
  readonly placement: Placement;
  readonly dispatcherFor: (shardUrl: string) => Dispatcher;
  /** Requests for an unreachable shard go to the core, which answers 503 ROUTER_SHARD_UNREACHABLE. */
  readonly reachability: Pick<ShardReachability, 'isDown'>;
  readonly throttle: AuthThrottle;
  readonly observer: RouterObserver;
  /** Time to the response headers, by status (the router's request histogram). */
  readonly recordRequest: (status: number, seconds: number) => void;
  /** Bodies with a declared length up to this are read here; larger ones go to the core. */
  readonly bufferBodyBytes: number;
  /** Whose X-Forwarded-For is believed (the core's, shared). */
  readonly trustedProxies: TrustedProxies;
  /** With CORS on, requests from browsers (an Origin header) go to the core, which adds the CORS headers. */
  readonly corsEnabled: boolean;
  readonly log: pino.Logger;
  /** Owners remembered per manifest copy (placement hashes every shard; a hit skips that). */
  readonly ownerCacheSize?: number;
}

/** What the fast path decided from the request head, before any byte of the body was read. */
export interface FastRoute {
  readonly shard: ManifestShard;
  readonly requestId: string;
  /** Upstream request headers, flat [name, value, …], without content-length. */
  readonly headers: string[];
  /** What a 401 (or any other answer) from the shard tells the auth throttle; null: nothing (webhooks). */
  readonly subject: ThrottleSubject | null;
  readonly hasBody: boolean;
  /** For the shape of the router's own errors (OpenAI's on the OpenAI-compatible paths). */
  readonly pathname: string;
}

export type FastOutcome = 'done' | 'fallback';

// Paths the core answers itself (fleet routes, health) or routes by body (restore). Keep in step
// with the routes registered in router/core/router-core.ts: one missing here would go to a shard.
const ROUTER_PATHS = new Set(['/healthz', '/readyz', '/metrics', '/v1/tenants', '/v1/tenants/', '/v1/fleet', '/v1/fleet/', '/v1/tenants/restore', '/v1/tenants/restore/']);
// Request headers never forwarded as sent: hop-by-hop ones, and the ones the router sets itself.
const DROP_REQUEST = new Set([...HOP_BY_HOP_REQUEST, 'content-length', 'x-request-id', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']);
const DROP_RESPONSE = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'x-request-id', 'x-openclawmu-shard']);
const HOST = /^[A-Za-z0-9.:[\]-]+$/;
const PLAIN_CONNECTION = /^\s*(keep-alive|close)\s*$/i;

export interface FastPath {
  /** The route when the fast path applies to this request; null hands it to the core. */
  route(req: IncomingMessage): FastRoute | null;
  /** Sends the request; `owner.done('fallback')` means nothing was written and the core must take it (with `body`). */
  send(route: FastRoute, req: IncomingMessage, res: ServerResponse, body: Buffer | null, started: number, owner: FastOwner): void;
}

/** Who learns how a fast-path request ended (an object, not a closure: no allocation per request). */
export interface FastOwner {
  done(outcome: FastOutcome): void;
}

// Per-request listeners would be closures (and, under tsx's keepNames, a defineProperty each): the
// response carries its handler instead, and one shared function serves every response.
const HANDLER = Symbol('openclawmu.fastForward');
type TrackedResponse = ServerResponse & { [HANDLER]?: ForwardHandler };
function onResponseClose(this: TrackedResponse): void {
  this[HANDLER]?.clientClosed();
}
function onResponseDrain(this: TrackedResponse): void {
  this[HANDLER]?.drained();
}

export function createFastPath(deps: FastPathDeps): FastPath {
  const cacheLimit = deps.ownerCacheSize ?? 100_000;
  let cachedFor: Manifest | null = null;
  const owners = new Map<string, ManifestShard | null>();

  const ownerOf = (manifest: Manifest, tenantId: string): ManifestShard | null => {
    if (manifest !== cachedFor) {
      owners.clear();
      cachedFor = manifest;
    }
    let shard = owners.get(tenantId);
    if (shard === undefined) {
      const id = deps.placement.ownerOf(tenantId, manifest);
      shard = (id === null ? undefined : shardById(manifest, id)) ?? null;
      if (owners.size >= cacheLimit) owners.clear();
      owners.set(tenantId, shard);
    }
    return shard;
  };

  const route = (req: IncomingMessage): FastRoute | null => {
    const url = req.url ?? '';
    if (url.charCodeAt(0) !== 47 /* '/' */) return null;
    const q = url.indexOf('?');
    const pathname = q === -1 ? url : url.slice(0, q);
    if (ROUTER_PATHS.has(pathname)) return null;

    const raw = req.rawHeaders;
    const headers: string[] = [];
    let authorization: string | null = null;
    let contentLength: string | null = null;
    let requestId: string | null = null;
    let forwardedFor: string | null = null;
    let host = 'router';
    let chunked = false;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i] as string;
      const value = raw[i + 1] as string;
      const lower = name.length < 32 ? name.toLowerCase() : name;
      if (DROP_REQUEST.has(lower)) {
        switch (lower) {
          case 'content-length':
            if (contentLength !== null && contentLength !== value) return null;
            contentLength = value;
            break;
          case 'transfer-encoding':
            chunked = true;
            break;
          case 'connection':
            if (!PLAIN_CONNECTION.test(value)) return null; // lists more hop-by-hop headers: the core strips them
            break;
          case 'x-request-id':
            requestId = value;
            break;
          case 'x-forwarded-for':
            forwardedFor = forwardedFor === null ? value : `${forwardedFor}, ${value}`;
            break;
          case 'host':
            if (HOST.test(value)) host = value;
            break;
        }
        continue;
      }
      if (lower === 'authorization') {
        if (authorization !== null) return null;
        authorization = value;
      } else if (lower === 'origin' && deps.corsEnabled) {
        return null;
      }
      headers.push(name, value);
    }
    if (chunked) return null;
    const bearer = bearerOf(authorization);
    const token = bearer === null ? null : parseTenantToken(bearer);
    if (token === null) return null;

    const method = req.method ?? 'GET';
    let hasBody = false;
    if (contentLength !== null && method !== 'GET' && method !== 'HEAD') {
      const n = Number(contentLength);
      if (!Number.isInteger(n) || n < 0 || n > deps.bufferBodyBytes) return null;
      hasBody = n > 0;
    }
    // The same throttle decision as the core's (auth-throttle.ts); a refusal is the core's to answer.
    const address = clientAddressOf(req.socket.remoteAddress ?? 'unknown', forwardedFor, deps.trustedProxies);
    const subject = throttleSubject({ method, pathname, client: address.client, credential: bearer });
    if (subject !== null && deps.throttle.blockedFor(subject) > 0) return null;

    const manifest = deps.manifest.current();
    if (manifest === null) return null;
    const shard = ownerOf(manifest, token.tenantId);
    if (shard === null || deps.reachability.isDown(shard.url)) return null; // the core answers those

    const rid = requestIdOf(requestId);
    headers.push(
      'x-request-id', rid,
      'x-forwarded-for', address.forwardedFor,
      'x-forwarded-proto', 'http',
      'x-forwarded-host', host,
    );
    return { shard, requestId: rid, headers, subject, hasBody, pathname };
  };

  const send = (r: FastRoute, req: IncomingMessage, res: ServerResponse, body: Buffer | null, started: number, owner: FastOwner): void => {
    const handler = new ForwardHandler(deps, r, res, started, owner);
    (res as TrackedResponse)[HANDLER] = handler;
    res.once('close', onResponseClose);
    try {
      deps.dispatcherFor(r.shard.url).dispatch({ origin: r.shard.url, method: (req.method ?? 'GET') as Dispatcher.HttpMethod, path: req.url ?? '/', headers: r.headers, body }, handler);
    } catch (err) {
      handler.onError(err as Error);
    }
  };

  return { route, send };
}

/** One forwarded request, as an undici dispatch handler (the legacy callback API: no adapters in between). */
class ForwardHandler {
  private abort: ((err?: Error) => void) | null = null;
  private resume: (() => void) | null = null;
  private status = 0;
  /** The shard answered 421 or 503-frozen: swallow the answer, then hand over to the core. */
  private discarding = false;
  private finished = false;

  constructor(
    private readonly deps: FastPathDeps,
    private readonly r: FastRoute,
    private readonly res: ServerResponse,
    private readonly started: number,
    private readonly owner: FastOwner,
  ) {}

  clientClosed(): void {
    if (!this.finished && !this.res.writableFinished) this.abort?.(new Error('client closed'));
  }

  drained(): void {
    this.resume?.();
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abort = abort;
    if (this.res.destroyed) abort(new Error('client closed'));
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText?: string): boolean {
    const seconds = (performance.now() - this.started) / 1000;
    this.deps.observer.upstream?.(this.r.shard.id, statusCode, seconds);
    this.status = statusCode;
    this.resume = resume;
    const out: string[] = [];
    let frozen = false;
    let routerSourced = false;
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const name = (rawHeaders[i] as Buffer).toString('latin1');
      const lower = name.toLowerCase();
      if (DROP_RESPONSE.has(lower)) continue;
      const value = (rawHeaders[i + 1] as Buffer).toString('latin1');
      if (lower === 'x-openclawmu-frozen') frozen = value === '1';
      else if (lower === 'x-openclawmu-error-source') routerSourced = value === 'router';
      out.push(name, value);
    }
    if (statusCode === 421 || (statusCode === 503 && frozen)) {
      if (statusCode === 421) this.deps.observer.retry?.('misdirected');
      this.discarding = true;
      return true;
    }
    if (this.r.subject !== null && !routerSourced) {
      if (statusCode === 401) this.deps.throttle.recordFailure(this.r.subject);
      else this.deps.throttle.recordSuccess(this.r.subject);
    }
    out.push('x-request-id', this.r.requestId, 'x-openclawmu-shard', this.r.shard.id);
    this.deps.recordRequest(statusCode, seconds);
    if (this.res.destroyed) return true;
    try {
      this.res.writeHead(statusCode, statusText || undefined, out);
    } catch (err) {
      // A header Node refuses to send (a control character, a bad name): nothing went out yet.
      this.abort?.(new AppError('ROUTER_UPSTREAM_DOWN', { message: 'The shard sent a response head that cannot be forwarded.', details: { shard: this.r.shard.id }, cause: err }));
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.discarding || this.res.destroyed) return true;
    if (this.res.write(chunk)) return true;
    this.res.once('drain', onResponseDrain);
    return false;
  }

  private detach(): void {
    this.finished = true;
    this.res.off('close', onResponseClose);
    (this.res as TrackedResponse)[HANDLER] = undefined;
  }

  onComplete(): void {
    this.detach();
    if (this.discarding) {
      // After a 421 the manifest is stale: refresh first, so the core goes straight to the owner.
      if (this.status === 421) void this.deps.manifest.refresh().then(() => this.owner.done('fallback'), () => this.owner.done('fallback'));
      else this.owner.done('fallback');
      return;
    }
    this.res.end();
    this.owner.done('done');
  }

  onError(err: Error): void {
    this.detach();
    this.res.off('drain', onResponseDrain);
    if (this.res.destroyed || this.res.writableEnded) return this.owner.done('done');
    if (this.res.headersSent) {
      this.deps.log.warn({ err: { message: err.message } }, 'response stream aborted');
      this.res.destroy();
      return this.owner.done('done');
    }
    if (this.discarding) return this.owner.done('fallback');
    const e = upstreamError(isAppError(err) ? err : mapUndiciError(err, this.r.shard.url), this.r.shard.id);
    this.deps.observer.upstreamError?.(this.r.shard.id, e.code);
    void writeWebResponse(this.res, errorResponse(e, this.r.requestId, this.r.pathname)).then(() => this.owner.done('done'));
    this.deps.recordRequest(e.status, (performance.now() - this.started) / 1000);
  }
}

/** Writes a (small, router-made) Web Response to a Node response. */
export async function writeWebResponse(res: ServerResponse, response: Response): Promise<void> {
  const out: Record<string, string | string[]> = {};
  response.headers.forEach((v, k) => {
    if (k !== 'set-cookie') out[k] = v;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) out['set-cookie'] = cookies;
  const body = response.body === null ? null : Buffer.from(await response.arrayBuffer());
  res.writeHead(response.status, response.statusText || undefined, out);
  res.end(body);
}
