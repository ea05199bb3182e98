// One channel instance at work: inbound deliveries are made durable, then each event runs through
// access rules, a turn and durable egress in its conversation's lane. Restart-safe by construction:
// `resume()` picks up every pending event; a stored reply is never computed twice, and a send whose
// outcome is unknown is never repeated unless the platform dedupes by idempotency key.
import type { AccessSettings } from './access-policy.ts';
import { decideAccess } from './access-policy.ts';
import type { AdapterContext, AnyChannelAdapter, Connector, ConnectorSink, ConnectorStatus, InboundRequest, InboundResult } from './channel-adapter.ts';
import { channelSessionKey, type InboundMessage, type NormalisedMessage } from './channel-message.ts';
import type { ChannelCounts, ChannelQueues, IngressEvent, PendingEvent } from './channel-queues.ts';
import { egressKey } from './channel-queues.ts';
import type { ConversationLanes } from './conversation-lanes.ts';
import type { PairingStore } from './pairing-store.ts';
import { ChannelSendError } from './platform-call.ts';
import { abortableDelay } from './platforms/polling-loop.ts';
import { splitText } from './split-text.ts';

/** Runs one agent turn for a channel message; must dedupe on `idempotencyKey` (RunService does). */
export type TurnRunner = (input: { tenant: string; sessionKey: string; text: string; idempotencyKey: string; message: NormalisedMessage }) => Promise<string>;

export type EgressOutcome = 'sent' | 'unknown_after_send' | 'failed' | 'skipped';

export interface ChannelObserver {
  ingress?(outcome: 'stored' | 'duplicate'): void;
  egress?(outcome: EgressOutcome): void;
  turnFailed?(err: unknown): void;
}

export interface ChannelRunnerOptions {
  tenant: string;
  name: string;
  adapter: AnyChannelAdapter;
  ctx: AdapterContext<unknown, AccessSettings>;
  queues: ChannelQueues;
  pairing: PairingStore;
  lanes: ConversationLanes;
  runTurn: TurnRunner;
  observer?: ChannelObserver;
  /** Attempts for a send the platform definitely did not act on (connect refused, 429). */
  sendAttempts?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** Refusals that mean "not here, not now" (the tenant is frozen, moved, or the shard drains), never "failed". */
const PAUSED = new Set(['SHARD_TENANT_FROZEN', 'SHARD_TENANT_MOVED', 'SHARD_DRAINING']);

export function pairingText(code: string): string {
  return `This assistant answers approved people only. Your pairing code is ${code} (valid for one hour); send it to the assistant's owner to be approved.`;
}

export class ChannelRunner {
  private readonly o: ChannelRunnerOptions;
  private readonly inFlight = new Set<string>();
  private readonly work = new Set<Promise<void>>();
  private connector: Connector | null = null;
  private lastStatus: ConnectorStatus | null = null;
  private stopped = false;
  /** Aborted by stop(): cuts retry waits short so a freeze does not wait out a backoff. */
  private readonly halt = new AbortController();

  constructor(opts: ChannelRunnerOptions) {
    this.o = opts;
  }

  get name(): string {
    return this.o.name;
  }

  /** Verifies, stores, then answers: the platform hears 2xx only after the events are durable. */
  receive(req: InboundRequest): InboundResult {
    const result = this.o.adapter.receive(this.o.ctx, req);
    this.store(result.events);
    return result;
  }

  /** Schedules every stored, unfinished event (after a restart, an activation or a move). */
  resume(): void {
    for (const p of this.o.queues.pending(this.o.name)) this.schedule(p.message);
  }

  startConnector(): void {
    if (this.halt.signal.aborted) return;
    if (this.connector !== null || !this.o.adapter.usesConnector(this.o.ctx.settings) || this.o.adapter.connector === undefined) return;
    this.stopped = false;
    this.connector = this.o.adapter.connector(this.o.ctx, this.sink());
    this.connector.start();
  }

  /** Stops the connector (no platform request left in flight); events already stored stay pending. */
  async stopConnector(): Promise<void> {
    const c = this.connector;
    this.connector = null;
    if (c !== null) {
      await c.stop();
      this.lastStatus = c.status();
    }
  }

  /** Stops taking work and waits for what is running (a freeze, a deactivate, a shutdown). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.halt.abort();
    await this.stopConnector();
    await this.idle();
  }

  /** Resolves when every scheduled event has been processed. */
  async idle(): Promise<void> {
    while (this.work.size > 0) await Promise.all([...this.work]);
  }

  connectorStatus(): ConnectorStatus | null {
    return this.connector?.status() ?? this.lastStatus;
  }

  counts(): ChannelCounts {
    return this.o.queues.counts(this.o.name);
  }

  private sink(): ConnectorSink {
    return {
      cursor: () => this.o.queues.cursor(this.o.name),
      ingest: (events, cursor) => this.store(events, cursor),
      onStatus: (s) => {
        this.lastStatus = s;
      },
    };
  }

  private store(events: IngressEvent[], cursor?: string): void {
    const fresh = cursor === undefined ? this.o.queues.ingest(this.o.name, events) : this.o.queues.ingestWithCursor(this.o.name, events, cursor);
    for (let i = 0; i < fresh.length; i++) this.o.observer?.ingress?.('stored');
    for (let i = fresh.length; i < events.length; i++) this.o.observer?.ingress?.('duplicate');
    for (const m of fresh) this.schedule(m);
  }

  private schedule(m: InboundMessage): void {
    if (this.stopped || this.inFlight.has(m.eventId)) return;
    this.inFlight.add(m.eventId);
    const p = this.o.lanes
      .run(`${this.o.tenant}\u0000${this.o.name}\u0000${m.conversation}`, () => this.process(m.eventId))
      .catch((err: unknown) => this.o.observer?.turnFailed?.(err))
      .finally(() => {
        this.inFlight.delete(m.eventId);
        this.work.delete(p);
      });
    this.work.add(p);
  }

  private async process(eventId: string): Promise<void> {
    if (this.stopped) return;
    const ev = this.o.queues.pendingOne(this.o.name, eventId);
    if (ev === null) return;
    const msg = ev.message;
    const decision = decideAccess(msg, this.o.ctx.settings, this.o.pairing.isApproved(this.o.name, msg.sender.id));
    if (decision === 'ignore') {
      this.o.queues.finish(this.o.name, eventId, 'skipped', 'access');
      return;
    }
    if (decision === 'pair') {
      const out = this.o.pairing.request(this.o.name, msg.sender, msg.conversation);
      if (out.kind !== 'new') {
        this.o.queues.finish(this.o.name, eventId, 'skipped', out.kind === 'full' ? 'pairing-full' : 'pairing-pending');
        return;
      }
      const sent = await this.sendParts(ev, pairingText(out.request.code));
      this.o.queues.finish(this.o.name, eventId, 'skipped', sent === 'sent' ? 'pairing-code-sent' : `pairing-code-${sent}`);
      return;
    }
    let reply = ev.reply;
    if (reply === null) {
      try {
        reply = await this.o.runTurn({
          tenant: this.o.tenant,
          sessionKey: channelSessionKey(this.o.name, msg.conversation),
          text: msg.text,
          idempotencyKey: `channel:${this.o.name}:${eventId}`,
          message: { ...msg, tenant: this.o.tenant, channel: this.o.name },
        });
      } catch (err) {
        // a freeze, move or shutdown cut the turn: the event stays pending and resumes on the owner
        if (this.stopped || PAUSED.has((err as { code?: string }).code ?? '')) return;
        this.o.observer?.turnFailed?.(err);
        this.o.queues.finish(this.o.name, eventId, 'failed', `turn: ${(err as { code?: string }).code ?? 'error'}`);
        return;
      }
      this.o.queues.saveReply(this.o.name, eventId, reply);
    }
    if (reply.trim() === '') {
      this.o.queues.finish(this.o.name, eventId, 'done', 'empty-reply');
      return;
    }
    const outcome = await this.sendParts(ev, reply);
    this.o.queues.finish(this.o.name, eventId, outcome === 'sent' ? 'done' : 'failed', outcome);
  }

  /** Sends each part through durable egress; the worst part outcome is the event's. */
  private async sendParts(ev: PendingEvent, text: string): Promise<EgressOutcome> {
    const parts = splitText(text, this.o.adapter.maxTextLength);
    let worst: EgressOutcome = 'sent';
    for (let i = 0; i < parts.length; i++) {
      const r = await this.sendPart(ev, i, parts[i] ?? '');
      this.o.observer?.egress?.(r);
      if (r === 'unknown_after_send' || r === 'failed') worst = r;
    }
    return worst;
  }

  private async sendPart(ev: PendingEvent, part: number, text: string): Promise<EgressOutcome> {
    const { queues, adapter, ctx } = this.o;
    const m = ev.message;
    const key = egressKey(this.o.name, ev.eventId, part);
    const existing = queues.beginSend(this.o.name, ev.eventId, part, m.conversation, text);
    if (existing !== null) {
      if (existing.state === 'sent') return 'skipped';
      if (existing.state !== 'intent' || !adapter.idempotentSends) {
        // An intent without a receipt: the process stopped mid-send. The platform may have the
        // message; without its own idempotency a resend could duplicate it, so we never resend.
        if (existing.state === 'intent') queues.settleSend(key, 'unknown_after_send', { error: 'interrupted between intent and receipt' });
        return existing.state === 'failed' ? 'failed' : 'unknown_after_send';
      }
      queues.retryIntent(key);
    }
    const reply = { conversation: m.conversation, text, ...(m.replyTo === undefined || part > 0 ? {} : { replyTo: m.replyTo }), ...(m.thread === undefined ? {} : { thread: m.thread }) };
    const attempts = this.o.sendAttempts ?? 8;
    const sleep = this.o.sleep ?? ((ms: number) => abortableDelay(ms, this.halt.signal));
    for (let attempt = 1; ; attempt++) {
      try {
        const receipt = await adapter.send(ctx, reply, key);
        queues.settleSend(key, 'sent', { receipt });
        return 'sent';
      } catch (err) {
        const e = err instanceof ChannelSendError ? err : null;
        const retryable = e !== null && (!e.ambiguous || adapter.idempotentSends);
        if (!retryable || attempt >= attempts || this.stopped) {
          const state = e !== null && e.ambiguous && !adapter.idempotentSends ? 'unknown_after_send' : 'failed';
          if (state === 'failed' && this.stopped && e !== null && !e.ambiguous) {
            // stopping mid-retry (freeze, shutdown): the message never left; the next owner sends it
            queues.dropIntent(key);
            throw err;
          }
          queues.settleSend(key, state, { error: e === null ? 'error' : JSON.stringify(e.details ?? {}).slice(0, 300) });
          return state;
        }
        // Certainly not sent: withdraw the intent while waiting, so a crash meanwhile resends instead
        // of leaving an intent that would read as unknown_after_send.
        if (!e.ambiguous) queues.dropIntent(key);
        await sleep(Math.min(30_000, (e.retryAfterSeconds ?? 0) * 1000 || 250 * 2 ** (attempt - 1)));
        if (!e.ambiguous && queues.beginSend(this.o.name, ev.eventId, part, m.conversation, text) !== null) return 'skipped';
      }
    }
  }
}
