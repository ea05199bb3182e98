// Adapts Node's http server to the core fetch handler: IncomingMessage → Request, Response → ServerResponse, streaming.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type pino from 'pino';
import type { RouterFetch } from '../core/router-core.ts';
import type { RouterMetrics } from './router-metrics.ts';

export interface NodeHandlerDeps {
  readonly fetch: RouterFetch;
  readonly metrics: RouterMetrics;
  readonly log: pino.Logger;
}

export function createNodeHandler(deps: NodeHandlerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    void handle(deps, req, res).catch((err: unknown) => {
      deps.log.error({ err }, 'router handler failed');
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'INTERNAL', message: 'Internal error.' } }));
      } else {
        res.destroy();
      }
    });
  };
}

async function handle(deps: NodeHandlerDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = performance.now();
  if (req.method === 'GET' && req.url === '/metrics') {
    const text = await deps.metrics.registry.metrics();
    res.writeHead(200, { 'content-type': deps.metrics.registry.contentType }).end(text);
    return;
  }
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
  const hasBody = method !== 'GET' && method !== 'HEAD' && (req.headers['content-length'] !== undefined ? req.headers['content-length'] !== '0' : req.headers['transfer-encoding'] !== undefined);
  const abort = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) abort.abort();
  });
  let request: Request;
  try {
    const host = /^[A-Za-z0-9.:[\]-]+$/.test(req.headers.host ?? '') ? (req.headers.host as string) : 'router';
    request = new Request(`http://${host}${req.url ?? '/'}`, {
      method,
      headers,
      signal: abort.signal,
      ...(hasBody ? { body: Readable.toWeb(req) as ReadableStream<Uint8Array>, duplex: 'half' } : {}),
    } as RequestInit);
  } catch {
    res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'BAD_REQUEST', message: 'The request is malformed.' } }));
    return;
  }
  const response = await deps.fetch(request, { clientAddress: req.socket.remoteAddress ?? 'unknown' });
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
  if (response.body === null) {
    res.end();
    return;
  }
  // Chunk by chunk: an SSE event written upstream reaches the client now, not at the end.
  res.flushHeaders();
  const reader = response.body.getReader();
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
  } finally {
    if (res.destroyed) await reader.cancel().catch(() => {});
  }
}
