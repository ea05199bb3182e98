// Durable ingress and egress of one tenant's channels over its state.db (DESIGN §13).
// Ingress: an event is stored under a unique (channel, event id) before the platform is answered,
// or, for polling, in the same transaction as the new cursor. Egress: an intent row is committed
// before each platform call and the receipt after; an intent found on resume is `unknown_after_send`.
import type Database from 'better-sqlite3';
import type { InboundMessage, SendReceipt } from './channel-message.ts';

export interface IngressEvent {
  message: InboundMessage;
  /** The platform's own payload for this event (JSON-serialisable). */
  raw: unknown;
}

export type IngressState = 'pending' | 'done' | 'skipped' | 'failed';
export type EgressState = 'intent' | 'sent' | 'unknown_after_send' | 'failed';

export interface PendingEvent {
  channel: string;
  eventId: string;
  message: InboundMessage;
  reply: string | null;
}

export interface EgressRow {
  idemKey: string;
  state: EgressState;
  receipt: SendReceipt | null;
}

export interface ChannelCounts {
  pending: number;
  done: number;
  skipped: number;
  failed: number;
  sent: number;
  unknownAfterSend: number;
  sendFailed: number;
}

export function egressKey(channel: string, eventId: string, part: number): string {
  return `${channel}:${eventId}:${part}`;
}

export class ChannelQueues {
  private readonly db: Database.Database;
  private readonly now: () => number;

  constructor(db: Database.Database, now: () => number) {
    this.db = db;
    this.now = now;
  }

  /** Stores new events; returns the ones that were not there before (replays are dropped here). */
  ingest(channel: string, events: readonly IngressEvent[]): InboundMessage[] {
    return this.db.transaction(() => this.insertAll(channel, events))();
  }

  /** Stores polled events and the cursor that follows them in one transaction. */
  ingestWithCursor(channel: string, events: readonly IngressEvent[], cursor: string): InboundMessage[] {
    return this.db.transaction(() => {
      const fresh = this.insertAll(channel, events);
      this.db
        .prepare('INSERT INTO channel_cursors (channel, cursor, updated_at) VALUES (?, ?, ?) ON CONFLICT (channel) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at')
        .run(channel, cursor, this.now());
      return fresh;
    })();
  }

  cursor(channel: string): string | null {
    const row = this.db.prepare('SELECT cursor FROM channel_cursors WHERE channel = ?').get(channel) as { cursor: string } | undefined;
    return row?.cursor ?? null;
  }

  /** Unfinished events of a channel, oldest first (resumed after a restart or a move). */
  pending(channel: string): PendingEvent[] {
    const rows = this.db
      .prepare("SELECT event_id, message, reply FROM channel_ingress WHERE channel = ? AND state = 'pending' ORDER BY received_at, rowid")
      .all(channel) as { event_id: string; message: string; reply: string | null }[];
    return rows.map((r) => ({ channel, eventId: r.event_id, message: JSON.parse(r.message) as InboundMessage, reply: r.reply }));
  }

  pendingOne(channel: string, eventId: string): PendingEvent | null {
    const r = this.db
      .prepare("SELECT message, reply FROM channel_ingress WHERE channel = ? AND event_id = ? AND state = 'pending'")
      .get(channel, eventId) as { message: string; reply: string | null } | undefined;
    return r === undefined ? null : { channel, eventId, message: JSON.parse(r.message) as InboundMessage, reply: r.reply };
  }

  /** Keeps the turn's answer so a resume sends it instead of running the turn again. */
  saveReply(channel: string, eventId: string, reply: string): void {
    this.db.prepare('UPDATE channel_ingress SET reply = ? WHERE channel = ? AND event_id = ?').run(reply, channel, eventId);
  }

  finish(channel: string, eventId: string, state: Exclude<IngressState, 'pending'>, outcome: string): void {
    this.db
      .prepare('UPDATE channel_ingress SET state = ?, outcome = ?, finished_at = ? WHERE channel = ? AND event_id = ?')
      .run(state, outcome, this.now(), channel, eventId);
  }

  /**
   * Records the intent to send one part, unless a row exists. Returns the existing row when there was
   * one (the caller must then not send blindly), or null when the intent is new and the send may go.
   */
  beginSend(channel: string, eventId: string, part: number, conversation: string, text: string): EgressRow | null {
    const key = egressKey(channel, eventId, part);
    return this.db.transaction(() => {
      const row = this.egress(key);
      if (row !== null) return row;
      const t = this.now();
      this.db
        .prepare("INSERT INTO channel_egress (idem_key, channel, event_id, part, conversation, text, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'intent', ?, ?)")
        .run(key, channel, eventId, part, conversation, text, t, t);
      return null;
    })();
  }

  /** Withdraws an intent whose send certainly did not leave (connect refused): a restart may send it. */
  dropIntent(idemKey: string): void {
    this.db.prepare("DELETE FROM channel_egress WHERE idem_key = ? AND state = 'intent'").run(idemKey);
  }

  /** Re-arms an intent for a platform with its own idempotency (the resend carries the same key). */
  retryIntent(idemKey: string): void {
    this.db.prepare("UPDATE channel_egress SET state = 'intent', updated_at = ? WHERE idem_key = ?").run(this.now(), idemKey);
  }

  settleSend(idemKey: string, state: Exclude<EgressState, 'intent'>, detail: { receipt?: SendReceipt; error?: string }): void {
    this.db
      .prepare('UPDATE channel_egress SET state = ?, receipt = ?, error = ?, updated_at = ? WHERE idem_key = ?')
      .run(state, detail.receipt === undefined ? null : JSON.stringify(detail.receipt), detail.error ?? null, this.now(), idemKey);
  }

  egress(idemKey: string): EgressRow | null {
    const row = this.db.prepare('SELECT idem_key, state, receipt FROM channel_egress WHERE idem_key = ?').get(idemKey) as
      | { idem_key: string; state: EgressState; receipt: string | null }
      | undefined;
    if (row === undefined) return null;
    return { idemKey: row.idem_key, state: row.state, receipt: row.receipt === null ? null : (JSON.parse(row.receipt) as SendReceipt) };
  }

  /** Sent replies of one conversation after a row id (WebChat's visitor inbox reads this). */
  outbox(channel: string, conversation: string, afterId: number, limit: number): { id: number; text: string; at: number }[] {
    return this.db
      .prepare("SELECT rowid AS id, text, updated_at AS at FROM channel_egress WHERE channel = ? AND conversation = ? AND state = 'sent' AND rowid > ? ORDER BY rowid LIMIT ?")
      .all(channel, conversation, afterId, limit) as { id: number; text: string; at: number }[];
  }

  counts(channel: string): ChannelCounts {
    const ing = this.db.prepare('SELECT state, COUNT(*) AS n FROM channel_ingress WHERE channel = ? GROUP BY state').all(channel) as { state: IngressState; n: number }[];
    const eg = this.db.prepare('SELECT state, COUNT(*) AS n FROM channel_egress WHERE channel = ? GROUP BY state').all(channel) as { state: EgressState; n: number }[];
    const i = (s: IngressState): number => ing.find((r) => r.state === s)?.n ?? 0;
    const e = (s: EgressState): number => eg.find((r) => r.state === s)?.n ?? 0;
    return { pending: i('pending'), done: i('done'), skipped: i('skipped'), failed: i('failed'), sent: e('sent'), unknownAfterSend: e('unknown_after_send'), sendFailed: e('failed') };
  }

  /** Everything a removed channel left behind. */
  forget(channel: string): void {
    this.db.transaction(() => {
      for (const t of ['channel_ingress', 'channel_egress', 'channel_cursors', 'channel_pairing_requests', 'channel_allow']) {
        this.db.prepare(`DELETE FROM ${t} WHERE channel = ?`).run(channel);
      }
    })();
  }

  private insertAll(channel: string, events: readonly IngressEvent[]): InboundMessage[] {
    const insert = this.db.prepare(
      "INSERT INTO channel_ingress (channel, event_id, conversation, message, raw, received_at, state) VALUES (?, ?, ?, ?, ?, ?, 'pending') ON CONFLICT (channel, event_id) DO NOTHING",
    );
    const fresh: InboundMessage[] = [];
    for (const e of events) {
      const r = insert.run(channel, e.message.eventId, e.message.conversation, JSON.stringify(e.message), JSON.stringify(e.raw), this.now());
      if (r.changes === 1) fresh.push(e.message);
    }
    return fresh;
  }
}
