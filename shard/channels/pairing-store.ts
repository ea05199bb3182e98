// Pairing of unknown senders: an 8-character code valid one hour, at most three pending per channel;
// the tenant approves (the sender joins the channel's allow list) or denies.
import { randomInt } from 'node:crypto';
import type Database from 'better-sqlite3';

/** No 0/O, 1/I/L: codes are read off a phone screen and typed. */
const CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
export const PAIRING_CODE_LENGTH = 8;
export const PAIRING_TTL_MS = 60 * 60 * 1000;
export const PAIRING_MAX_PENDING = 3;

export interface PairingRequest {
  code: string;
  sender: string;
  senderName: string | null;
  conversation: string;
  createdAt: number;
  expiresAt: number;
}

export type PairingOutcome = { kind: 'new' | 'existing'; request: PairingRequest } | { kind: 'full' };

export function newPairingCode(): string {
  let s = '';
  for (let i = 0; i < PAIRING_CODE_LENGTH; i++) s += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
  return s;
}

export class PairingStore {
  private readonly db: Database.Database;
  private readonly now: () => number;

  constructor(db: Database.Database, now: () => number) {
    this.db = db;
    this.now = now;
  }

  isApproved(channel: string, sender: string): boolean {
    return this.db.prepare('SELECT 1 FROM channel_allow WHERE channel = ? AND sender = ?').get(channel, sender) !== undefined;
  }

  /** The sender's live request, a new one, or `full` when three others are pending. */
  request(channel: string, sender: { id: string; name?: string }, conversation: string): PairingOutcome {
    return this.db.transaction((): PairingOutcome => {
      const t = this.now();
      this.db.prepare('DELETE FROM channel_pairing_requests WHERE channel = ? AND expires_at <= ?').run(channel, t);
      const mine = this.db.prepare('SELECT * FROM channel_pairing_requests WHERE channel = ? AND sender = ?').get(channel, sender.id) as Row | undefined;
      if (mine !== undefined) return { kind: 'existing', request: fromRow(mine) };
      const { n } = this.db.prepare('SELECT COUNT(*) AS n FROM channel_pairing_requests WHERE channel = ?').get(channel) as { n: number };
      if (n >= PAIRING_MAX_PENDING) return { kind: 'full' };
      const request: PairingRequest = { code: newPairingCode(), sender: sender.id, senderName: sender.name ?? null, conversation, createdAt: t, expiresAt: t + PAIRING_TTL_MS };
      this.db
        .prepare('INSERT INTO channel_pairing_requests (channel, code, sender, sender_name, conversation, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(channel, request.code, request.sender, request.senderName, request.conversation, request.createdAt, request.expiresAt);
      return { kind: 'new', request };
    })();
  }

  list(channel: string): PairingRequest[] {
    const rows = this.db
      .prepare('SELECT * FROM channel_pairing_requests WHERE channel = ? AND expires_at > ? ORDER BY created_at')
      .all(channel, this.now()) as Row[];
    return rows.map(fromRow);
  }

  /** Approves a live code: the sender is allowed from now on. Null when no such live code. */
  approve(channel: string, code: string): PairingRequest | null {
    return this.db.transaction(() => {
      const req = this.take(channel, code);
      if (req === null) return null;
      this.db.prepare('INSERT OR IGNORE INTO channel_allow (channel, sender, approved_at) VALUES (?, ?, ?)').run(channel, req.sender, this.now());
      return req;
    })();
  }

  deny(channel: string, code: string): PairingRequest | null {
    return this.db.transaction(() => this.take(channel, code))();
  }

  /** Removes an approved sender; true when there was one. */
  revoke(channel: string, sender: string): boolean {
    return this.db.prepare('DELETE FROM channel_allow WHERE channel = ? AND sender = ?').run(channel, sender).changes === 1;
  }

  approved(channel: string): string[] {
    return (this.db.prepare('SELECT sender FROM channel_allow WHERE channel = ? ORDER BY approved_at').all(channel) as { sender: string }[]).map((r) => r.sender);
  }

  private take(channel: string, code: string): PairingRequest | null {
    const row = this.db
      .prepare('SELECT * FROM channel_pairing_requests WHERE channel = ? AND code = ? AND expires_at > ?')
      .get(channel, code.toUpperCase(), this.now()) as Row | undefined;
    if (row === undefined) return null;
    this.db.prepare('DELETE FROM channel_pairing_requests WHERE channel = ? AND code = ?').run(channel, row.code);
    return fromRow(row);
  }
}

interface Row {
  code: string;
  sender: string;
  sender_name: string | null;
  conversation: string;
  created_at: number;
  expires_at: number;
}

function fromRow(r: Row): PairingRequest {
  return { code: r.code, sender: r.sender, senderName: r.sender_name, conversation: r.conversation, createdAt: r.created_at, expiresAt: r.expires_at };
}
