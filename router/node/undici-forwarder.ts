// The Node forwarder: one keep-alive undici Pool per shard origin, streaming bodies both ways, no decompression.
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { Pool } from 'undici';
import { AppError, isAppError } from '../errors/app-error.ts';
import { ProxiedResponse } from './proxied-response.ts';
import type { Forwarder } from '../core/forward-to-owner.ts';

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
  /** Closes the pools of origins no longer listed (after a manifest change). */
  retain(origins: readonly string[]): void;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host']);
const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);

export function createUndiciForwarder(opts: UndiciForwarderOptions = {}): UndiciForwarder {
  const pools = new Map<string, Pool>();
  const poolFor = (origin: string): Pool => {
    let p = pools.get(origin);
    if (p === undefined) {
      p = new Pool(origin, {
        connections: opts.connections ?? 64,
        connectTimeout: opts.connectTimeoutMs ?? 5_000,
        headersTimeout: opts.headersTimeoutMs ?? 300_000,
        bodyTimeout: opts.bodyTimeoutMs ?? 300_000,
        keepAliveTimeout: opts.keepAliveTimeoutMs ?? 4_000,
        pipelining: 1,
      });
      pools.set(origin, p);
    }
    return p;
  };

  const forward = async (shardUrl: string, req: Request, bufferedBody?: Uint8Array): Promise<Response> => {
    const target = new URL(req.url);
    const headers: Record<string, string> = {};
    req.headers.forEach((v, k) => {
      if (!HOP_BY_HOP.has(k)) headers[k] = v;
    });
    let body: Uint8Array | Readable | null = null;
    if (bufferedBody !== undefined) body = bufferedBody;
    else if (req.body !== null) body = Readable.fromWeb(req.body as WebReadableStream<Uint8Array>);
    let res;
    try {
      res = await poolFor(new URL(shardUrl).origin).request({
        method: req.method as 'GET',
        path: target.pathname + target.search,
        headers,
        body,
        signal: req.signal,
      });
    } catch (err) {
      throw mapUndiciError(err, shardUrl);
    }
    const out = new Headers();
    for (const [k, v] of Object.entries(res.headers)) {
      if (v === undefined || HOP_BY_HOP.has(k)) continue;
      if (Array.isArray(v)) for (const one of v) out.append(k, one);
      else out.set(k, v);
    }
    if (NULL_BODY_STATUS.has(res.statusCode) || req.method === 'HEAD') {
      res.body.resume();
      return new Response(null, { status: res.statusCode, headers: out });
    }
    return new ProxiedResponse(res.body, { status: res.statusCode, headers: out });
  };

  return {
    forward: Object.assign(forward, { takesBufferedBody: true }) satisfies Forwarder,
    retain(origins) {
      const keep = new Set(origins.map((o) => new URL(o).origin));
      for (const [origin, p] of pools) {
        if (!keep.has(origin)) {
          pools.delete(origin);
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

function mapUndiciError(err: unknown, shardUrl: string): AppError {
  // Our own errors (a request body over the limit, raised while streaming) pass through unchanged.
  if (isAppError(err)) return err;
  const cause = (err as { cause?: unknown }).cause;
  if (isAppError(cause)) return cause;
  const code = (err as { code?: string }).code ?? (err as { name?: string }).name ?? 'unknown';
  const timeout = code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'TimeoutError' || code === 'AbortError' || code === 'UND_ERR_ABORTED';
  return new AppError(timeout ? 'ROUTER_UPSTREAM_TIMEOUT' : 'ROUTER_UPSTREAM_DOWN', { details: { shardUrl, cause: String(code) }, cause: err });
}
