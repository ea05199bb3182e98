// The router core: a Web fetch handler (itty-router, no node: imports) that resolves the tenant,
// finds its owner by placement and forwards through an injected Forwarder (DESIGN §1, §4, §5).
import { IttyRouter, type IRequest } from 'itty-router';
import { AppError } from '../errors/app-error.ts';
import type { ManifestStatus, ManifestView } from '../manifest/manifest-poller.ts';
import type { Manifest } from '../manifest/manifest-schema.ts';
import type { Placement } from '../placement/rendezvous.ts';
import { createAdminAuth } from './admin-auth.ts';
import { presentedCredential } from '../identity/credential.ts';
import { isAdminKeyShape } from '../identity/tenant-id.ts';
import { isOpenAiPath } from '../errors/openai-error.ts';
import { createAuthThrottle, throttleSubject, type AuthThrottle, type AuthThrottleOptions, type ThrottleSubject } from './auth-throttle.ts';
import { clientAddressOf, createTrustedProxies, type TrustedProxies } from './client-address.ts';
import { createCors, type Cors, type CorsOptions } from './cors.ts';
import { errorResponse, jsonResponse, routerErrorOf } from './error-response.ts';
import { fleetStatus, listTenantsAcrossFleet } from './fleet-routes.ts';
import { forwardToOwner, type Forwarder, type RouterObserver } from './forward-to-owner.ts';
import type { ShardReachability } from './shard-reachability.ts';
import { HOP_BY_HOP_REQUEST, requestIdOf } from './request-id.ts';
import { isTenantCreate, isTenantRestore, tenantFromCreateBody, tenantFromHead, tenantFromRestoreBody } from './request-tenant.ts';

export interface RouterCoreOptions {
  readonly manifest: ManifestView;
  readonly placement: Placement;
  readonly forward: Forwarder;
  /** SHA-256 hex of each admin key allowed on the fleet-wide routes. */
  readonly adminKeyHashes: readonly string[];
  readonly manifestStatus?: () => ManifestStatus;
  readonly observer?: RouterObserver;
  readonly limits?: Partial<RouterLimits>;
  readonly authThrottle?: AuthThrottleOptions;
  /**
   * Proxies (CIDRs or addresses) whose X-Forwarded-For is believed: the client address is the first
   * untrusted hop, read right to left (client-address.ts).
   */
  readonly trustedProxies?: readonly string[];
  /** Older switch: the direct peer is a trusted proxy whatever its address. */
  readonly trustForwardedFor?: boolean;
  /**
   * The forwarder's fetch performs WebSocket upgrades itself (a Workers runtime): a request with
   * `Upgrade: websocket` keeps that header and goes through the same owner/421/503-frozen path as
   * any other. The Node adapter pipes upgrades itself (router/node/ws-passthrough.ts) and leaves this off.
   */
  readonly upgradesByFetch?: boolean;
  /** Health-probe state of the shards (the Node adapter probes them); unreachable ones answer 503 at once. */
  readonly reachability?: ShardReachability;
  /** Origins allowed to call from a browser (cors.ts); none: CORS off. */
  readonly cors?: CorsOptions;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface RouterLimits {
  /** Largest request body forwarded at all. */
  maxBodyBytes: number;
  /** Bodies up to this size are buffered so a 421/503-frozen can be retried (DESIGN §5: 1 MiB). */
  replayBodyBytes: number;
  maxHops: number;
  holdLimitMs: number;
  holdPollMs: number;
  fanoutTimeoutMs: number;
}

export const DEFAULT_LIMITS: RouterLimits = {
  maxBodyBytes: 16 * 1024 * 1024,
  replayBodyBytes: 1024 * 1024,
  maxHops: 2,
  holdLimitMs: 10_000,
  holdPollMs: 50,
  fanoutTimeoutMs: 5_000,
};

export interface RequestContext {
  /** The peer's address as the transport saw it (the Node adapter passes the socket's). */
  readonly clientAddress?: string;
  /** The request body, already in memory (an adapter's fast path); then `req.body` is not read. */
  readonly body?: Uint8Array;
  /** Aborted when the client goes away: the upstream request and any hold stop. */
  readonly signal?: AbortSignal;
}

export type RouterFetch = (req: Request, ctx?: RequestContext) => Promise<Response>;


export interface RouterCore {
  readonly fetch: RouterFetch;
  /** The 401 throttle the core applies (an adapter's fast path and upgrades share it). */
  readonly throttle: AuthThrottle;
  /** The trusted proxies the core walks X-Forwarded-For with (shared the same way). */
  readonly trustedProxies: TrustedProxies;
  /** CORS: the fast path leaves requests with an Origin to the core when it is on. */
  readonly cors: Cors;
}

/** What the core learns about a request before routing it. */
interface Inbound extends RequestContext {
  /** The X-Forwarded-For to send upstream; undefined without a peer address. */
  readonly forwardedFor: string | undefined;
  readonly subject: ThrottleSubject | null;
}

export function createRouterCore(opts: RouterCoreOptions): RouterCore {
  const limits: RouterLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const observer = opts.observer ?? {};
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const admin = createAdminAuth(opts.adminKeyHashes);
  const throttle = createAuthThrottle({ now, ...opts.authThrottle });
  const trustedProxies = createTrustedProxies(opts.trustedProxies ?? [], opts.trustForwardedFor === true);
  const cors = createCors(opts.cors);
  const fleet = { forward: opts.forward, placement: opts.placement, fanoutTimeoutMs: limits.fanoutTimeoutMs, ...(opts.manifestStatus ? { manifestStatus: opts.manifestStatus } : {}) };
  const fwd = { manifest: opts.manifest, placement: opts.placement, forward: opts.forward, observer, maxHops: limits.maxHops, holdLimitMs: limits.holdLimitMs, holdPollMs: limits.holdPollMs, now, sleep, ...(opts.reachability === undefined ? {} : { reachability: opts.reachability }) };

  type Args = [Inbound, string];
  const router = IttyRouter<IRequest, Args, Response>();

  // Every path the router answers itself is also listed in ROUTER_PATHS (router/node/fast-forward.ts).
  router.get('/healthz', (_req, _ctx, rid) => jsonResponse({ status: 'ok' }, rid));
  router.get('/readyz', (_req, _ctx, rid) => {
    const m = opts.manifest.current();
    return m === null
      ? errorResponse(new AppError('ROUTER_MANIFEST_UNAVAILABLE', { headers: { 'retry-after': '1' } }), rid)
      : jsonResponse({ status: 'ready', manifestVersion: m.version, shards: m.shards.length }, rid);
  });

  // Fleet-wide admin routes: the router checks the admin key itself, then fans out.
  const adminRoute = (handler: (req: IRequest, manifest: Manifest, rid: string, authorization: string) => Promise<Response>) => async (req: IRequest, ctx: Inbound, rid: string) => {
    const authorization = req.headers.get('authorization');
    const verdict = await admin.check(authorization);
    if (ctx.subject !== null) {
      if (verdict === 'ok') throttle.recordSuccess(ctx.subject);
      else if (verdict === 'invalid') throttle.recordFailure(ctx.subject);
    }
    if (verdict !== 'ok') {
      const code = verdict === 'missing' ? 'AUTH_REQUIRED' : verdict === 'forbidden' ? 'AUTH_FORBIDDEN' : 'AUTH_INVALID';
      return errorResponse(new AppError(code), rid);
    }
    const manifest = opts.manifest.current() ?? (await opts.manifest.refresh());
    if (manifest === null) return errorResponse(new AppError('ROUTER_MANIFEST_UNAVAILABLE', { headers: { 'retry-after': '1' } }), rid);
    return handler(req, manifest, rid, authorization as string);
  };
  router.get('/v1/tenants', adminRoute((req, manifest, rid, authz) => listTenantsAcrossFleet(fleet, manifest, new URL(req.url), authz, rid)));
  router.get('/v1/fleet', adminRoute((_req, manifest, rid, authz) => fleetStatus(fleet, manifest, authz, rid)));

  router.all('*', async (req, ctx, rid) => forwardTenantRequest(req, ctx, rid));

  async function forwardTenantRequest(req: IRequest, ctx: Inbound, rid: string): Promise<Response> {
    const url = new URL(req.url);
    const method = req.method.toUpperCase();
    const head = { method, pathname: url.pathname, header: (n: string) => req.headers.get(n) };

    const declared = req.headers.get('content-length');
    if (declared !== null && Number(declared) > limits.maxBodyBytes) {
      return errorResponse(new AppError('BODY_TOO_LARGE', { details: { limitBytes: limits.maxBodyBytes } }), rid);
    }
    let body: Uint8Array | ReadableStream<Uint8Array> | null = null;
    if (ctx.body !== undefined) {
      if (ctx.body.byteLength > limits.maxBodyBytes) return errorResponse(new AppError('BODY_TOO_LARGE', { details: { limitBytes: limits.maxBodyBytes } }), rid);
      body = ctx.body;
    } else if (method !== 'GET' && method !== 'HEAD' && req.body !== null) {
      const known = declared === null ? NaN : Number(declared);
      const read =
        Number.isInteger(known) && known <= limits.replayBodyBytes
          ? await readSmallBody(req, limits.maxBodyBytes)
          : await readBody(req.body, limits.replayBodyBytes, limits.maxBodyBytes);
      if (read === 'too-large') return errorResponse(new AppError('BODY_TOO_LARGE', { details: { limitBytes: limits.maxBodyBytes } }), rid);
      body = read;
    }

    // A restore names its tenant in the body (the path segment "restore" is not a tenant).
    const restore = isTenantRestore(method, url.pathname);
    let tenant = restore ? (body instanceof Uint8Array ? tenantFromRestoreBody(body) : null) : tenantFromHead(head);
    if (restore && tenant === null) {
      return errorResponse(new AppError('VALIDATION_FAILED', { message: 'A restore body names {from: "tenants/<id>/snapshots/…", as?: "<id>"}.', details: { field: 'from' } }), rid);
    }
    if (tenant === null && isTenantCreate(method, url.pathname)) {
      if (!(body instanceof Uint8Array)) {
        return errorResponse(new AppError('VALIDATION_FAILED', { message: 'A tenant-create body must be a small JSON object with an id.', details: { field: 'id' } }), rid);
      }
      tenant = tenantFromCreateBody(body);
      if (tenant === null) return errorResponse(new AppError('SHARD_TENANT_ID_INVALID', { details: { field: 'id' } }), rid);
    }
    if (tenant === null) {
      // No credential: nothing to route by. An admin key: a route that does not exist. Any other
      // key (an OpenAI key sent here by mistake, a mangled token) is a wrong credential, not a wrong path.
      const credential = presentedCredential(req.headers.get('authorization'), req.headers.get('x-api-key'));
      if (credential === null) return errorResponse(new AppError('ROUTER_NO_TENANT'), rid);
      return isAdminKeyShape(credential)
        ? errorResponse(new AppError('NOT_FOUND', { details: { path: url.pathname } }), rid)
        : errorResponse(new AppError('AUTH_INVALID', { message: 'Invalid credentials: send a tenant token (tk_<tenant>_<32 hex>) as a Bearer token or in x-api-key.' }), rid);
    }

    const headers = new Headers(req.headers);
    const connectionListed = (req.headers.get('connection') ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
    for (const h of [...HOP_BY_HOP_REQUEST, ...connectionListed]) headers.delete(h);
    if (opts.upgradesByFetch === true && (req.headers.get('upgrade') ?? '').toLowerCase() === 'websocket') headers.set('upgrade', 'websocket');
    headers.set('x-request-id', rid);
    if (ctx.forwardedFor !== undefined) headers.set('x-forwarded-for', ctx.forwardedFor);
    else headers.delete('x-forwarded-for');
    headers.set('x-forwarded-proto', url.protocol.replace(':', ''));
    headers.set('x-forwarded-host', url.host);
    // The forwarder frames the body (a length for bytes, chunked for a stream). Never pass our own
    // content-length: Node 20's fetch adds one too, and when undici 7 is the global dispatcher (it
    // installs itself if loaded before the first fetch) the two become "n, n" and the request fails.
    headers.delete('content-length');

    return forwardToOwner(fwd, { tenantId: tenant.tenantId, method, pathAndQuery: url.pathname + url.search, headers, body, requestId: rid, ...(ctx.signal === undefined ? {} : { signal: ctx.signal }) });
  }

  return {
    throttle,
    trustedProxies,
    cors,
    async fetch(req, ctx = {}) {
      const preflight = cors.preflight(req);
      if (preflight !== null) return preflight;
      const res = await answer(req, ctx);
      return cors.enabled ? withHeaders(res, cors.headersFor(req.headers.get('origin'))) : res;
    },
  };

  async function answer(req: Request, ctx: RequestContext): Promise<Response> {
    const rid = requestIdOf(req.headers.get('x-request-id'));
    const peer = ctx.clientAddress;
    const address = peer === undefined ? undefined : clientAddressOf(peer, req.headers.get('x-forwarded-for'), trustedProxies);
    const credential = presentedCredential(req.headers.get('authorization'), req.headers.get('x-api-key'));
    const pathname = new URL(req.url).pathname;
    const subject = address === undefined ? null : throttleSubject({ method: req.method.toUpperCase(), pathname, client: address.client, credential });
    if (subject !== null) {
      const wait = throttle.blockedFor(subject);
      if (wait > 0) {
        observer.authThrottled?.();
        await req.body?.cancel();
        return errorResponse(new AppError('AUTH_TOO_MANY_FAILURES', { headers: { 'retry-after': String(wait) } }), rid, pathname);
      }
    }
    const inbound: Inbound = { ...ctx, forwardedFor: address?.forwardedFor, subject };
    let res: Response;
    try {
      res = (await router.fetch(req, inbound, rid)) as Response;
    } catch (err) {
      res = errorResponse(err instanceof AppError ? err : new AppError('INTERNAL', { cause: err }), rid);
    }
    // The router's own answers (admin checks aside, recorded where they are made) say nothing about the credential.
    if (subject !== null && res.headers.get('x-openclawmu-error-source') !== 'router') {
      if (res.status === 401) throttle.recordFailure(subject);
      else throttle.recordSuccess(subject);
    }
    // The router's own errors take the shape of the path: OpenAI clients parse OpenAI's.
    const own = routerErrorOf(res);
    return own !== undefined && isOpenAiPath(pathname) ? errorResponse(own, rid, pathname) : res;
  }
}

/** Adds headers to a response; a fetch() response's headers are immutable, so that one is wrapped. */
function withHeaders(res: Response, extra: Record<string, string>): Response {
  const entries = Object.entries(extra);
  if (entries.length === 0) return res;
  try {
    for (const [k, v] of entries) res.headers.set(k, v);
    return res;
  } catch {
    const headers = new Headers(res.headers);
    for (const [k, v] of entries) headers.set(k, v);
    return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
  }
}

/** A body whose declared length is small: read it whole (a lying content-length is still capped). */
async function readSmallBody(req: Request, maxBytes: number): Promise<Uint8Array | 'too-large'> {
  const bytes = new Uint8Array(await req.arrayBuffer());
  return bytes.byteLength > maxBytes ? 'too-large' : bytes;
}

/**
 * Buffers a body of up to `replayBytes` (so it can be sent again); a larger one is passed on as a
 * stream that starts with the bytes already read. Past `maxBytes` the result is 'too-large'
 * (buffered case) or the stream errors (streamed case).
 */
async function readBody(stream: ReadableStream<Uint8Array>, replayBytes: number, maxBytes: number): Promise<Uint8Array | ReadableStream<Uint8Array> | 'too-large'> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      return 'too-large';
    }
    if (total > replayBytes) {
      let sent = total;
      let pending = chunks.slice();
      return new ReadableStream<Uint8Array>({
        async pull(controller) {
          const next = pending.shift();
          if (next !== undefined) return controller.enqueue(next);
          const r = await reader.read();
          if (r.done) return controller.close();
          sent += r.value.byteLength;
          if (sent > maxBytes) {
            await reader.cancel();
            return controller.error(new AppError('BODY_TOO_LARGE', { details: { limitBytes: maxBytes } }));
          }
          controller.enqueue(r.value);
        },
        async cancel(reason) {
          pending = [];
          await reader.cancel(reason);
        },
      });
    }
  }
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
