// Adapts Node's http server to the router. The common request (a tenant token, a small body, an owner in
// the manifest) takes the fast path (fast-forward.ts); everything else, and whatever the fast path hands
// back (421, 503-frozen), goes through the core fetch handler: IncomingMessage → Request, Response →
// ServerResponse, streaming. Web streams are slow on Node 20, so small bodies are buffered with Node
// streams, and an upstream body still in Node form (ProxiedResponse) is piped straight to the client.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type pino from 'pino';
import type { RouterFetch } from '../core/router-core.ts';
import type { FastOutcome, FastOwner, FastPath, FastRoute } from './fast-forward.ts';
import { ProxiedResponse } from './proxied-response.ts';
import type { RouterMetrics } from './router-metrics.ts';
import { readableToWeb } from './web-streams.ts';

export interface NodeHandlerDeps {
  readonly fetch: RouterFetch;
  readonly metrics: RouterMetrics;
  readonly log: pino.Logger;
  /** Bodies with a content-length up to this are read into memory before the core sees them. */
  readonly bufferBodyBytes: number;
  /** The Node fast path; without it every request goes through the core. */
  readonly fast?: FastPath;
}

export function createNodeHandler(deps: NodeHandlerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const fail = (res: ServerResponse) => (err: unknown) => {
    deps.log.error({ err }, 'router handler failed');
    if (!res.headersSent) {
      res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'INTERNAL', message: 'Internal error.' } }));
    } else {
      res.destroy();
    }
  };
  return (req, res) => {
    const started = performance.now();
    const route = deps.fast?.route(req) ?? null;
    if (route === null || deps.fast === undefined) {
      void handle(deps, req, res, started).catch(fail(res));
      return;
    }
    new FastFlow(deps, deps.fast, route, req, res, started, fail).start();
  };
}

/**
 * One request on the fast path. It runs on callbacks and methods, not promises and closures: this
 * is the per-request cost of most traffic.
 */
class FastFlow implements FastOwner {
  private body: Buffer | null = null;
  private more: Buffer[] | null = null;

  constructor(
    private readonly deps: NodeHandlerDeps,
    private readonly fast: FastPath,
    private readonly route: FastRoute,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly started: number,
    private readonly fail: (res: ServerResponse) => (err: unknown) => void,
  ) {}

  start(): void {
    if (!this.route.hasBody) return this.send();
    // A client that goes away mid-body never reaches 'end': nothing is sent.
    (this.req as FlowRequest)[FLOW] = this;
    this.req.on('data', onBodyChunk);
    this.req.once('end', onBodyEnd);
  }

  chunk(c: Buffer): void {
    if (this.body === null) this.body = c;
    else (this.more ??= [this.body]).push(c);
  }

  send(): void {
    if (this.more !== null) this.body = Buffer.concat(this.more);
    this.fast.send(this.route, this.req, this.res, this.body, this.started, this);
  }

  done(outcome: FastOutcome): void {
    if (outcome === 'done') return this.deps.metrics.path('fast');
    // 421 or 503-frozen: the core retries and holds, with the body already read.
    this.deps.metrics.path('handed-over');
    void handleInCore(this.deps, this.req, this.res, this.started, { body: this.body ?? EMPTY, requestId: this.route.requestId }).catch(this.fail(this.res));
  }
}

const FLOW = Symbol('openclawmu.fastFlow');
type FlowRequest = IncomingMessage & { [FLOW]?: FastFlow };
function onBodyChunk(this: FlowRequest, c: Buffer): void {
  this[FLOW]?.chunk(c);
}
function onBodyEnd(this: FlowRequest): void {
  const flow = this[FLOW];
  this[FLOW] = undefined;
  flow?.send();
}

function readSmall(req: IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.once('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
    req.once('error', () => resolve(null));
    req.once('close', () => resolve(null));
  });
}

async function handle(deps: NodeHandlerDeps, req: IncomingMessage, res: ServerResponse, started: number): Promise<void> {
  if (req.method === 'GET' && req.url === '/metrics') {
    const text = await deps.metrics.registry.metrics();
    res.writeHead(200, { 'content-type': deps.metrics.registry.contentType }).end(text);
    return;
  }
  deps.metrics.path('core');
  return handleInCore(deps, req, res, started);
}

const EMPTY = Buffer.alloc(0);

/** What the fast path already did before handing a request over. */
interface HandedOver {
  readonly body: Buffer;
  readonly requestId: string;
}

async function handleInCore(deps: NodeHandlerDeps, req: IncomingMessage, res: ServerResponse, started: number, handedOver?: HandedOver): Promise<void> {
  const method = req.method ?? 'GET';
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    try {
      headers.append(raw[i] as string, raw[i + 1] as string);
    } catch {
      // A header value the Fetch API refuses: drop it rather than fail the request.
    }
  }
  if (handedOver !== undefined) headers.set('x-request-id', handedOver.requestId);
  const cl = req.headers['content-length'];
  const declared = cl === undefined ? NaN : Number(cl);
  const hasBody = method !== 'GET' && method !== 'HEAD' && (cl !== undefined ? declared !== 0 : req.headers['transfer-encoding'] !== undefined);
  // A small body is read here with Node streams and handed to the core as bytes (ctx.body), not as
  // a Web stream in the Request; a large or chunked one streams through.
  let buffered: Buffer | undefined = handedOver !== undefined && hasBody ? handedOver.body : undefined;
  let body: ReadableStream<Uint8Array> | undefined;
  if (hasBody && handedOver === undefined) {
    if (Number.isInteger(declared) && declared <= deps.bufferBodyBytes) {
      const buf = await readSmall(req);
      if (buf === null) return; // the client went away mid-body
      buffered = buf;
    } else {
      body = readableToWeb(req, 'drain');
    }
  }
  let request: Request;
  try {
    const host = /^[A-Za-z0-9.:[\]-]+$/.test(req.headers.host ?? '') ? (req.headers.host as string) : 'router';
    const url = `http://${host}${req.url ?? '/'}`;
    if (!(req.url ?? '/').startsWith('/')) throw new TypeError('not an origin-form request target');
    request =
      body === undefined
        ? // Without a body stream the core reads only url, method, headers and body (null): a plain
          // object spares a Request (and the AbortSignal it always allocates), ~0.05 ms on Node 20.
          ({ url, method, headers, body: null } as unknown as Request)
        : new Request(url, { method, headers, body, duplex: 'half' } as RequestInit);
  } catch {
    res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'BAD_REQUEST', message: 'The request is malformed.' } }));
    return;
  }
  const clientAddress = req.socket.remoteAddress ?? 'unknown';
  // A client that leaves stops any retry or hold and aborts the upstream request.
  const gone = new AbortController();
  const onClose = (): void => {
    if (!res.writableFinished) gone.abort();
  };
  res.once('close', onClose);
  const response = await deps.fetch(request, buffered === undefined ? { clientAddress, signal: gone.signal } : { clientAddress, body: buffered, signal: gone.signal });
  res.off('close', onClose);
  if (res.destroyed) {
    const raw = response instanceof ProxiedResponse ? response.takeRaw() : null;
    if (raw !== null) raw.destroy();
    else await response.body?.cancel().catch(() => {});
    return;
  }
  deps.metrics.request(response.status, (performance.now() - started) / 1000);
  const out: Record<string, string | string[]> = {};
  response.headers.forEach((v, k) => {
    if (k !== 'set-cookie') out[k] = v;
  });
  // Answered before the request body was read (413, auth refusal): close rather than drain an unwanted upload.
  if (!req.complete) out['connection'] = 'close';
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) out['set-cookie'] = cookies;
  res.writeHead(response.status, response.statusText || undefined, out);

  const upstream = response instanceof ProxiedResponse ? response.takeRaw() : null;
  if (upstream !== null) {
    // Each chunk is written as it arrives (SSE stays incremental); a client that leaves destroys the
    // upstream body. pipe() rather than pipeline(): pipeline allocates an AbortController and a
    // DOMException (with a stack) per response, which showed up at the top of the profile.
    upstream.on('error', (err: Error) => {
      if (!res.writableEnded) {
        deps.log.warn({ err: { message: err.message } }, 'response stream aborted');
        res.destroy();
      }
    });
    res.once('close', () => {
      if (!upstream.readableEnded) upstream.destroy();
    });
    upstream.pipe(res);
    return;
  }
  if (response.body === null) {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  res.once('close', () => {
    if (!res.writableFinished) void reader.cancel().catch(() => {});
  });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!res.write(value)) await new Promise<void>((ok) => res.once('drain', ok).once('close', ok));
      if (res.destroyed) break;
    }
    res.end();
  } catch (err) {
    deps.log.warn({ err: { message: (err as Error).message } }, 'response stream aborted');
    res.destroy();
  }
}
