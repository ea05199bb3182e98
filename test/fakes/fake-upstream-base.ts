// Shared plumbing of the fake LLM upstreams: an HTTP server on port 0 that records requests,
// can fail the next N calls, pace, hang or hold answers, and reports clients that went away mid-stream.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
}

export interface FakeBehaviour {
  /** Answer the next `failTimes` calls with `failStatus` (default 503) before any byte of a body. */
  failTimes: number;
  failStatus: number;
  /** Milliseconds between stream chunks. */
  chunkDelayMs: number;
  /** After this many content chunks, stop writing and keep the connection open (until the client leaves). */
  hangAfterChunks: number | null;
  /** After this many content chunks, destroy the socket (a broken upstream). */
  dropAfterChunks: number | null;
  /** Delay before the response headers (to exercise timeouts). */
  headersDelayMs: number;
}

export const DEFAULT_BEHAVIOUR: FakeBehaviour = {
  failTimes: 0,
  failStatus: 503,
  chunkDelayMs: 0,
  hangAfterChunks: null,
  dropAfterChunks: null,
  headersDelayMs: 0,
};

export function words(text: string): number {
  const t = text.trim();
  return t === '' ? 0 : t.split(/\s+/).length;
}

export function textOfContent(c: unknown): string {
  if (typeof c === 'string') return c;
  if (Array.isArray(c)) {
    return c
      .map((p: unknown) => {
        const o = p as Record<string, unknown>;
        if (typeof o['text'] === 'string') return o['text'];
        if (typeof o['content'] === 'string') return o['content'];
        if (Array.isArray(o['content'])) return textOfContent(o['content']);
        return '';
      })
      .join('');
  }
  return '';
}

export type Handler = (req: RecordedRequest, res: ServerResponse, fake: FakeServerBase) => Promise<void>;

export class FakeServerBase {
  readonly requests: RecordedRequest[] = [];
  behaviour: FakeBehaviour = { ...DEFAULT_BEHAVIOUR };
  /** Streams whose client closed the connection before the stream finished. */
  clientAborts = 0;
  /** Streams fully written. */
  streamsCompleted = 0;
  url = '';
  private server: Server | undefined;
  private readonly abortWaiters: (() => void)[] = [];
  private readonly hungWaiters: (() => void)[] = [];
  private held: { arrived: () => void; released: Promise<void> } | null = null;
  private readonly routes: Map<string, Handler>;

  constructor(routes: Map<string, Handler>) {
    this.routes = routes;
  }

  async listen(): Promise<void> {
    this.server = createServer((req, res) => {
      void this.handle(req, res);
    });
    this.server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const addr = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${addr.port}`;
  }

  setBehaviour(b: Partial<FakeBehaviour>): void {
    this.behaviour = { ...this.behaviour, ...b };
  }

  /**
   * Holds every request from now on before any byte of its answer, until `release()` is called;
   * `arrived` resolves when the first one is being held (so a test knows a call is in flight).
   */
  hold(): { arrived: Promise<void>; release: () => void } {
    let arrived!: () => void;
    const arrivedP = new Promise<void>((resolve) => (arrived = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const gate = { arrived, released };
    this.held = gate;
    return {
      arrived: arrivedP,
      release: () => {
        if (this.held === gate) this.held = null;
        release();
      },
    };
  }

  /** Ends every hang (`hangAfterChunks`): held streams go on to their end. */
  resumeHung(): void {
    this.behaviour = { ...this.behaviour, hangAfterChunks: null };
    for (const w of this.hungWaiters.splice(0)) w();
  }

  /** A stream hung by `hangAfterChunks`: true when resumed, false when its client left first. */
  whileHung(res: ServerResponse): Promise<boolean> {
    return new Promise((resolve) => {
      res.on('close', () => resolve(false));
      this.hungWaiters.push(() => resolve(true));
    });
  }

  /** Resolves when the next client abort mid-stream is observed. */
  nextClientAbort(): Promise<void> {
    return new Promise((resolve) => this.abortWaiters.push(resolve));
  }

  noteClientAbort(): void {
    this.clientAborts++;
    for (const w of this.abortWaiters.splice(0)) w();
  }

  async close(): Promise<void> {
    const s = this.server;
    if (s === undefined) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let body: Record<string, unknown> = {};
    try {
      const text = Buffer.concat(chunks).toString('utf8');
      body = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'invalid JSON', type: 'invalid_request_error' } }));
      return;
    }
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const rec: RecordedRequest = { method: req.method ?? 'GET', path, headers: req.headers, body };
    this.requests.push(rec);
    if (this.behaviour.headersDelayMs > 0) await pause(this.behaviour.headersDelayMs);
    const held = this.held;
    if (held !== null) {
      held.arrived();
      await held.released;
    }
    if (this.behaviour.failTimes > 0) {
      this.behaviour.failTimes--;
      res.writeHead(this.behaviour.failStatus, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'fake upstream failure', type: 'server_error' } }));
      return;
    }
    const handler = this.routes.get(`${rec.method} ${path}`);
    if (handler === undefined) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `no route ${rec.method} ${path}`, type: 'invalid_request_error' } }));
      return;
    }
    await handler(rec, res, this);
  }
}

export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Writes SSE frames with the configured pacing; stops (hang or drop) as configured. Returns false
 * when the client went away before the end.
 */
export async function writeSse(res: ServerResponse, fake: FakeServerBase, frames: { event?: string; data: string; content?: boolean }[]): Promise<boolean> {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  let gone = false;
  res.on('close', () => {
    if (!res.writableFinished) {
      gone = true;
      fake.noteClientAbort();
    }
  });
  let contentSent = 0;
  let flushed: Promise<void> = Promise.resolve();
  for (const f of frames) {
    if (gone) return false;
    if (f.content === true) {
      if (fake.behaviour.hangAfterChunks !== null && contentSent >= fake.behaviour.hangAfterChunks) {
        if (!(await fake.whileHung(res))) return false;
      }
      if (fake.behaviour.dropAfterChunks !== null && contentSent >= fake.behaviour.dropAfterChunks) {
        await flushed; // what was written reaches the client before the connection breaks
        res.socket?.destroy();
        return false;
      }
      contentSent++;
    }
    flushed = new Promise<void>((resolve) => res.write(`${f.event === undefined ? '' : `event: ${f.event}\n`}data: ${f.data}\n\n`, () => resolve()));
    if (fake.behaviour.chunkDelayMs > 0) await pause(fake.behaviour.chunkDelayMs);
  }
  if (gone) return false;
  res.end();
  fake.streamsCompleted++;
  return true;
}
