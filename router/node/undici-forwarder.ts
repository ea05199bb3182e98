// The Node forwarder: one keep-alive undici Pool per shard origin, streaming bodies both ways, no decompression.
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { Pool } from 'undici';
import { AppError, isAppError } from '../errors/app-error.ts';
import { ProxiedResponse } from './proxied-response.ts';
import type { Forwarder, OutgoingParts } from '../core/forward-to-owner.ts';

export interface UndiciForwarderOptions {
  /** Connections per shard. */
  readonly connections?: number;
  readonly connectTimeoutMs?: number;
  /** Time to the response headers (a non-streamed completion can take long). */
  readonly headersTimeoutMs?: number;
  /** Longest silence between two body chunks (SSE keeps this alive with its own pings). */
  readonly bodyTimeoutMs?: number;
  readonly keepAliveTimeoutMs?: number;
}

export interface UndiciForwarder {
  readonly forward: Forwarder;
  /** Closes the pools of shard URLs no longer listed (after a manifest change). */
  retain(shardUrls: readonly string[]): void;
  /** The keep-alive pool for a shard URL (the Node fast path dispatches on it directly). */
  dispatcherFor(shardUrl: string): Pool;
  /** Ends every request in flight to a shard with `reason` (it became unreachable); a new pool follows. */
  reset(shardUrl: string, reason: Error): void;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host']);
const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);

export function createUndiciForwarder(opts: UndiciForwarderOptions = {}): UndiciForwarder {
  const pools = new Map<string, Pool>();
  // Keyed by the shard URL as the manifest writes it (normalised), so no URL parsing per request.
  const poolFor = (shardUrl: string): Pool => {
    let p = pools.get(shardUrl);
    if (p === undefined) {
      p = new Pool(new URL(shardUrl).origin, {
        connections: opts.connections ?? 64,
        connectTimeout: opts.connectTimeoutMs ?? 5_000,
        headersTimeout: opts.headersTimeoutMs ?? 300_000,
        bodyTimeout: opts.bodyTimeoutMs ?? 300_000,
        keepAliveTimeout: opts.keepAliveTimeoutMs ?? 4_000,
        pipelining: 1,
      });
      pools.set(shardUrl, p);
    }
    return p;
  };

  const parts = async (shardUrl: string, out: OutgoingParts): Promise<Response> => {
    const headers: Record<string, string> = {};
    out.headers.forEach((v, k) => {
      if (!HOP_BY_HOP.has(k)) headers[k] = v;
    });
    const body: Uint8Array | Readable | null =
      out.body === null ? null : out.body instanceof Uint8Array ? out.body : Readable.fromWeb(out.body as WebReadableStream<Uint8Array>);
    let res;
    try {
      res = await poolFor(shardUrl).request({
        method: out.method as 'GET',
        path: out.pathAndQuery,
        headers,
        body,
        ...(out.signal === undefined ? {} : { signal: out.signal }),
      });
    } catch (err) {
      throw mapUndiciError(err, shardUrl);
    }
    const resHeaders = new Headers();
    for (const [k, v] of Object.entries(res.headers)) {
      if (v === undefined || HOP_BY_HOP.has(k)) continue;
      if (Array.isArray(v)) for (const one of v) resHeaders.append(k, one);
      else resHeaders.set(k, v);
    }
    if (NULL_BODY_STATUS.has(res.statusCode) || out.method === 'HEAD') {
      res.body.resume();
      return new Response(null, { status: res.statusCode, headers: resHeaders });
    }
    return new ProxiedResponse(res.body, { status: res.statusCode, headers: resHeaders });
  };

  const forward = (shardUrl: string, req: Request): Promise<Response> => {
    const target = new URL(req.url);
    return parts(shardUrl, { method: req.method, pathAndQuery: target.pathname + target.search, headers: req.headers, body: req.body, signal: req.signal });
  };

  return {
    forward: Object.assign(forward, { parts }) satisfies Forwarder,
    dispatcherFor: poolFor,
    reset(shardUrl, reason) {
      const p = pools.get(shardUrl);
      if (p === undefined) return;
      pools.delete(shardUrl);
      void p.destroy(reason).catch(() => {});
    },
    retain(origins: readonly string[]) {
      const keep = new Set(origins);
      for (const [url, p] of pools) {
        if (!keep.has(url)) {
          pools.delete(url);
          void p.close().catch(() => {});
        }
      }
    },
    async close() {
      const all = [...pools.values()];
      pools.clear();
      await Promise.all(all.map((p) => p.destroy().catch(() => {})));
    },
  };
}

export function mapUndiciError(err: unknown, shardUrl: string): AppError {
  // Our own errors (a request body over the limit, raised while streaming) pass through unchanged.
  if (isAppError(err)) return err;
  const cause = (err as { cause?: unknown }).cause;
  if (isAppError(cause)) return cause;
  const code = (err as { code?: string }).code ?? (err as { name?: string }).name ?? 'unknown';
  const timeout = code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'TimeoutError' || code === 'AbortError' || code === 'UND_ERR_ABORTED';
  return new AppError(timeout ? 'ROUTER_UPSTREAM_TIMEOUT' : 'ROUTER_UPSTREAM_DOWN', { details: { shardUrl, cause: String(code) }, cause: err });
}
