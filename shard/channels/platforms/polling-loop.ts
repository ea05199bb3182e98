// A long-polling connector: one request in flight at a time, backoff on transient errors, a clean
// stop that waits for the request in flight, and a terminal status when the platform says "conflict".
import type { Connector, ConnectorSink, ConnectorState, ConnectorStatus } from '../channel-adapter.ts';

export type PollVerdict = { stop: Extract<ConnectorState, 'conflict' | 'error'>; detail: string } | { backoffMs: number | undefined };

export interface PollingLoopOptions {
  sink: ConnectorSink;
  now: () => number;
  /** One poll: fetch, then `sink.ingest` (durable) before returning. */
  poll(signal: AbortSignal): Promise<void>;
  classify(err: unknown): PollVerdict;
  /** Backoff bounds for transient errors (doubling). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export class PollingLoop implements Connector {
  private readonly opts: PollingLoopOptions;
  private current: ConnectorStatus;
  private abort: AbortController | null = null;
  private loop: Promise<void> | null = null;

  constructor(opts: PollingLoopOptions) {
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
    if (this.current.state !== 'conflict' && this.current.state !== 'error') this.set('stopped');
  }

  private async run(signal: AbortSignal): Promise<void> {
    const min = this.opts.minBackoffMs ?? 1000;
    const max = this.opts.maxBackoffMs ?? 30_000;
    let backoff = min;
    while (!signal.aborted) {
      try {
        if (this.current.state !== 'running') this.set('running');
        await this.opts.poll(signal);
        backoff = min;
      } catch (err) {
        if (signal.aborted) break;
        const v = this.opts.classify(err);
        if ('stop' in v) {
          this.set(v.stop, v.detail);
          return;
        }
        const wait = v.backoffMs ?? backoff;
        backoff = Math.min(max, backoff * 2);
        this.set('backoff', `retrying in ${Math.round(wait / 1000)} s after a failed poll`);
        await abortableDelay(wait, signal);
      }
    }
  }

  private set(state: ConnectorState, detail?: string): void {
    this.current = { state, since: this.opts.now(), ...(detail === undefined ? {} : { detail }) };
    this.opts.sink.onStatus(this.current);
  }
}

export function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
