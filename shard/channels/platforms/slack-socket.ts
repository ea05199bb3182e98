// Slack Socket Mode: open a WebSocket URL with apps.connections.open, store each events_api
// envelope durably, then ack it with its envelope_id; reconnect on `disconnect` or a dropped socket.
import WebSocket from 'ws';
import { z } from 'zod';
import type { Connector, ConnectorSink, ConnectorState, ConnectorStatus } from '../channel-adapter.ts';
import type { IngressEvent } from '../channel-queues.ts';
import { ChannelSendError } from '../platform-call.ts';
import { abortableDelay } from './polling-loop.ts';

const FrameSchema = z.object({
  type: z.string(),
  envelope_id: z.string().optional(),
  payload: z.unknown().optional(),
  reason: z.string().optional(),
});

export interface SlackSocketOptions {
  sink: ConnectorSink;
  now: () => number;
  openUrl(signal: AbortSignal): Promise<string>;
  toEvent(payload: unknown): IngressEvent | null;
}

export class SlackSocketConnector implements Connector {
  private readonly opts: SlackSocketOptions;
  private current: ConnectorStatus;
  private abort: AbortController | null = null;
  private loop: Promise<void> | null = null;

  constructor(opts: SlackSocketOptions) {
    this.opts = opts;
    this.current = { state: 'stopped', since: opts.now() };
  }

  status(): ConnectorStatus {
    return this.current;
  }

  start(): void {
    if (this.loop !== null) return;
    const ac = new AbortController();
    this.abort = ac;
    this.set('starting');
    this.loop = this.run(ac.signal).finally(() => {
      this.loop = null;
    });
  }

  async stop(): Promise<void> {
    this.abort?.abort(new Error('connector stopped'));
    await this.loop;
    if (this.current.state !== 'error') this.set('stopped');
  }

  private async run(signal: AbortSignal): Promise<void> {
    let backoff = 1000;
    while (!signal.aborted) {
      try {
        const url = await this.opts.openUrl(signal);
        await this.session(url, signal);
        backoff = 1000;
        if (!signal.aborted) this.set('starting', 'reconnecting (Slack closed or refreshed the connection)');
      } catch (err) {
        if (signal.aborted) break;
        const e = err instanceof ChannelSendError ? err : null;
        const platformError = e?.details?.['platformError'];
        if (platformError === 'invalid_auth' || platformError === 'not_allowed_token_type' || platformError === 'token_revoked') {
          this.set('error', `Slack refused the app-level token (${platformError}); stopped`);
          return;
        }
        this.set('backoff', `reconnecting in ${Math.round(backoff / 1000)} s`);
        await abortableDelay(backoff, signal);
        backoff = Math.min(30_000, backoff * 2);
      }
    }
  }

  /** One WebSocket session; resolves when Slack asks to reconnect or the socket closes. */
  private session(url: string, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      const onAbort = (): void => ws.close(1000);
      signal.addEventListener('abort', onAbort, { once: true });
      let opened = false;
      ws.on('open', () => {
        opened = true;
      });
      ws.on('message', (data) => {
        let frame: z.infer<typeof FrameSchema>;
        try {
          frame = FrameSchema.parse(JSON.parse(String(data)));
        } catch {
          return;
        }
        if (frame.type === 'hello') this.set('running');
        else if (frame.type === 'disconnect') ws.close(1000);
        else if (frame.envelope_id !== undefined) {
          if (frame.type === 'events_api') {
            // durable first, then the ack: an un-acked envelope is redelivered by Slack
            try {
              const ev = this.opts.toEvent(frame.payload);
              this.opts.sink.ingest(ev === null ? [] : [ev]);
            } catch {
              // not stored (bad payload, disk): no ack; drop the socket so Slack redelivers
              ws.close(1011);
              return;
            }
          }
          ws.send(JSON.stringify({ envelope_id: frame.envelope_id }));
        }
      });
      ws.on('error', (err) => {
        if (!opened) reject(err);
      });
      ws.on('close', () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  private set(state: ConnectorState, detail?: string): void {
    this.current = { state, since: this.opts.now(), ...(detail === undefined ? {} : { detail }) };
    this.opts.sink.onStatus(this.current);
  }
}
