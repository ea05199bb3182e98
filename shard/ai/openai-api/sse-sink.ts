// A lazily started SSE response: headers go out with the first frame, so a failure before it can
// still be answered with a proper HTTP status.
import type { FastifyReply } from 'fastify';

export class SseSink {
  private started = false;
  private readonly reply: FastifyReply;
  private readonly extraHeaders: Record<string, string>;

  constructor(reply: FastifyReply, extraHeaders: Record<string, string> = {}) {
    this.reply = reply;
    this.extraHeaders = extraHeaders;
  }

  get isStarted(): boolean {
    return this.started;
  }

  get closed(): boolean {
    return this.reply.raw.destroyed || this.reply.raw.writableEnded;
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    this.reply.hijack();
    const headers: Record<string, string | number | string[]> = {};
    for (const [k, v] of Object.entries(this.reply.getHeaders())) if (v !== undefined) headers[k] = v as string;
    this.reply.raw.writeHead(200, {
      ...headers,
      ...this.extraHeaders,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
    });
  }

  /** Writes `data: <json>` (with an optional `event:` line). */
  send(data: unknown, event?: string): void {
    this.start();
    if (this.closed) return;
    this.reply.raw.write(`${event === undefined ? '' : `event: ${event}\n`}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
  }

  raw(frame: string): void {
    this.start();
    if (!this.closed) this.reply.raw.write(frame);
  }

  end(): void {
    this.start();
    if (!this.closed) this.reply.raw.end();
  }
}
