// Sessions and their transcripts in state.db (one tenant's database: isolation by construction).
import type Database from 'better-sqlite3';
import { z } from 'zod';
import { AppError } from '../../../router/errors/app-error.ts';
import type { ChatMessage, ToolCall } from '../providers/provider.ts';
import { responseTooLarge } from '../../limits/response-bounds.ts';

export const SESSION_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,199}$/;
export const SessionIdSchema = z.string().regex(SESSION_ID_PATTERN, 'session ids are 1-200 of letters, digits and ._:@- (starting with a letter or digit)');

export interface SessionView {
  id: string;
  agent: string | null;
  createdAt: string;
  updatedAt: string;
  messageCount: number;
}

export interface StoredMessage extends ChatMessage {
  seq: number;
  runId: string | null;
  createdAt: string;
}

interface RawSession {
  id: string;
  agent: string | null;
  created_at: string;
  updated_at: string;
  message_count: number;
}

function view(r: RawSession): SessionView {
  return { id: r.id, agent: r.agent, createdAt: r.created_at, updatedAt: r.updated_at, messageCount: r.message_count };
}

export function assertSessionId(id: string): string {
  if (!SESSION_ID_PATTERN.test(id)) throw new AppError('VALIDATION_FAILED', { message: 'Invalid session id.', details: { field: 'session', rule: SESSION_ID_PATTERN.source } });
  return id;
}

export function ensureSession(db: Database.Database, id: string, agent: string | null, nowIso: string): void {
  db.prepare('INSERT INTO ai_sessions (id, agent, created_at, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET agent = COALESCE(excluded.agent, agent)').run(id, agent, nowIso, nowIso);
}

export function getSession(db: Database.Database, id: string): SessionView {
  const r = db.prepare('SELECT * FROM ai_sessions WHERE id = ?').get(id) as RawSession | undefined;
  if (r === undefined) throw new AppError('AI_SESSION_NOT_FOUND', { details: { session: id.slice(0, 200) } });
  return view(r);
}

/** Newest first; the cursor is the last id seen (with its updated_at) so pages never repeat. */
export function listSessions(db: Database.Database, limit: number, cursor: string | undefined): { sessions: SessionView[]; nextCursor: string | null } {
  let rows: RawSession[];
  if (cursor === undefined) {
    rows = db.prepare('SELECT * FROM ai_sessions ORDER BY updated_at DESC, id DESC LIMIT ?').all(limit + 1) as RawSession[];
  } else {
    const sep = cursor.indexOf('|');
    const at = cursor.slice(0, sep);
    const id = cursor.slice(sep + 1);
    rows = db
      .prepare('SELECT * FROM ai_sessions WHERE (updated_at < ?) OR (updated_at = ? AND id < ?) ORDER BY updated_at DESC, id DESC LIMIT ?')
      .all(at, at, id, limit + 1) as RawSession[];
  }
  const page = rows.slice(0, limit).map(view);
  const last = page[page.length - 1];
  return { sessions: page, nextCursor: rows.length > limit && last !== undefined ? `${last.updatedAt}|${last.id}` : null };
}

/** Appends messages in one transaction; returns the seq of the first. */
export function appendMessages(db: Database.Database, sessionId: string, msgs: ChatMessage[], runId: string | null, nowIso: string): void {
  if (msgs.length === 0) return;
  db.transaction(() => {
    const row = db.prepare('SELECT COALESCE(MAX(seq), 0) AS s FROM ai_messages WHERE session_id = ?').get(sessionId) as { s: number };
    let seq = row.s;
    const ins = db.prepare('INSERT INTO ai_messages (session_id, seq, role, content, tool_calls, tool_call_id, run_id, created_at) VALUES (?,?,?,?,?,?,?,?)');
    for (const m of msgs) {
      seq++;
      ins.run(
        sessionId,
        seq,
        m.role,
        m.content === null ? null : typeof m.content === 'string' ? m.content : JSON.stringify(m.content),
        m.tool_calls === undefined || m.tool_calls.length === 0 ? null : JSON.stringify(m.tool_calls),
        m.tool_call_id ?? null,
        runId,
        nowIso,
      );
    }
    db.prepare('UPDATE ai_sessions SET message_count = message_count + ?, updated_at = ? WHERE id = ?').run(msgs.length, nowIso, sessionId);
  })();
}

interface RawMessage {
  seq: number;
  role: ChatMessage['role'];
  content: string | null;
  tool_calls: string | null;
  tool_call_id: string | null;
  run_id: string | null;
  created_at: string;
}

function toMessage(r: RawMessage): StoredMessage {
  let content: ChatMessage['content'] = r.content;
  if (r.content !== null && r.content.startsWith('[')) {
    try {
      content = JSON.parse(r.content) as ChatMessage['content'];
    } catch {
      content = r.content;
    }
  }
  const m: StoredMessage = { seq: r.seq, role: r.role, content, runId: r.run_id, createdAt: r.created_at };
  if (r.tool_calls !== null) m.tool_calls = JSON.parse(r.tool_calls) as ToolCall[];
  if (r.tool_call_id !== null) m.tool_call_id = r.tool_call_id;
  return m;
}

/** Messages after `afterSeq`, oldest first (at most `limit`). */
export function messagesOf(db: Database.Database, sessionId: string, afterSeq = 0, limit = 10_000): StoredMessage[] {
  const rows = db.prepare('SELECT seq, role, content, tool_calls, tool_call_id, run_id, created_at FROM ai_messages WHERE session_id = ? AND seq > ? ORDER BY seq LIMIT ?').all(sessionId, afterSeq, limit) as RawMessage[];
  return rows.map(toMessage);
}

/**
 * A page of the transcript after `afterSeq`: at most `limit` messages whose JSON fits `budgetBytes`
 * (rows are read one at a time, so a session of huge messages is never loaded whole). `cut` says the
 * page stopped early; a single message over the budget is refused (RESPONSE_TOO_LARGE).
 */
export function messagesWithin(db: Database.Database, sessionId: string, afterSeq: number, limit: number, budgetBytes: number): { messages: StoredMessage[]; cut: boolean } {
  const rows = db.prepare('SELECT seq, role, content, tool_calls, tool_call_id, run_id, created_at FROM ai_messages WHERE session_id = ? AND seq > ? ORDER BY seq LIMIT ?').iterate(sessionId, afterSeq, limit + 1) as IterableIterator<RawMessage>;
  const messages: StoredMessage[] = [];
  let used = 0;
  let cut = false;
  for (const row of rows) {
    if (messages.length === limit) {
      cut = true;
      break;
    }
    const m = toMessage(row);
    const bytes = Buffer.byteLength(JSON.stringify(m)) + 1;
    if (used + bytes > budgetBytes) {
      if (messages.length === 0) throw responseTooLarge('chat.history', bytes, budgetBytes, 'one message alone is larger than this call may answer; call chat.history alone (not in a batch)');
      cut = true;
      break;
    }
    used += bytes;
    messages.push(m);
  }
  rows.return?.();
  return { messages, cut };
}

/** The history a model sees: the last `max` messages, never starting with an orphan tool result. */
export function historyFor(db: Database.Database, sessionId: string, max = 200): ChatMessage[] {
  const rows = (db.prepare('SELECT seq, role, content, tool_calls, tool_call_id, run_id, created_at FROM ai_messages WHERE session_id = ? ORDER BY seq DESC LIMIT ?').all(sessionId, max) as RawMessage[]).reverse();
  while (rows.length > 0 && rows[0]?.role === 'tool') rows.shift();
  return rows.map((r) => {
    const { seq: _s, runId: _r, createdAt: _c, ...m } = toMessage(r);
    return m;
  });
}

export function resetSession(db: Database.Database, id: string, nowIso: string): { id: string; removed: number } {
  getSession(db, id);
  return db.transaction(() => {
    const info = db.prepare('DELETE FROM ai_messages WHERE session_id = ?').run(id);
    db.prepare('UPDATE ai_sessions SET message_count = 0, updated_at = ? WHERE id = ?').run(nowIso, id);
    return { id, removed: info.changes };
  })();
}

export function deleteSession(db: Database.Database, id: string): { id: string; deleted: true } {
  getSession(db, id);
  db.transaction(() => {
    db.prepare('DELETE FROM ai_messages WHERE session_id = ?').run(id);
    db.prepare('DELETE FROM ai_runs WHERE session_id = ?').run(id);
    db.prepare('DELETE FROM ai_sessions WHERE id = ?').run(id);
  })();
  return { id, deleted: true };
}
