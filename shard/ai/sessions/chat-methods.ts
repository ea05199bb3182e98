// sessions.* and chat.* JSON-RPC methods: list/get/reset/delete sessions; send (one run at a time
// per session, idempotent, streamed as chat.event over /ws), history, abort.
import { createHash, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../../../router/errors/app-error.ts';
import { defineMethod, type RpcContext, type RpcMethod } from '../../rpc/rpc-method.ts';
import type { AiService } from '../ai-service.ts';
import { AgentNameSchema, getAgent, type Agent } from '../agents/agent-store.ts';
import { runAgentTurn } from '../agents/agent-runner.ts';
import { usageToOpenAi } from '../providers/provider.ts';
import { deleteSession, getSession, listSessions, messagesOf, resetSession, SessionIdSchema } from './session-store.ts';

const iso = (): string => new Date().toISOString();
const laneKey = (tenantId: string, sessionId: string): string => `${tenantId}\u0000${sessionId}`;

function refuseIfBusy(ai: AiService, ctx: RpcContext, sessionId: string): void {
  if (ai.lanes.isBusy(laneKey(ctx.tenant.id, sessionId))) throw new AppError('AI_SESSION_BUSY', { details: { sessionId } });
}

/** The agent a chat.send names, or an implicit one around a plain model (tenant config defaults). */
function agentFor(ctx: RpcContext, p: { agent?: string | undefined; model?: string | undefined }): Agent {
  if (p.agent !== undefined) return getAgent(ctx.tenant.stateDb(), p.agent);
  const chat = (ctx.tenant.config()['chat'] ?? {}) as { defaultModel?: string; systemPrompt?: string };
  const now = iso();
  return { name: '', model: p.model ?? chat.defaultModel ?? 'echo', systemPrompt: chat.systemPrompt ?? '', tools: [], memory: false, maxToolSteps: 0, createdAt: now, updatedAt: now };
}

interface RunRow {
  id: string;
  session_id: string;
  status: string;
  error: string | null;
}

function finalOf(ctx: RpcContext, run: RunRow) {
  const msgs = messagesOf(ctx.tenant.stateDb(), run.session_id).filter((m) => m.runId === run.id && m.role === 'assistant');
  const last = msgs[msgs.length - 1];
  return { runId: run.id, sessionId: run.session_id, status: run.status, message: last === undefined ? null : { role: 'assistant', content: last.content, ...(last.tool_calls === undefined ? {} : { tool_calls: last.tool_calls }) }, ...(run.error === null ? {} : { error: run.error }) };
}

const SendParams = z
  .object({
    sessionId: SessionIdSchema.optional(),
    agent: AgentNameSchema.optional(),
    model: z.string().min(1).max(200).optional(),
    message: z.string().min(1).max(200_000),
    idempotencyKey: z.string().min(1).max(128),
  })
  .strict();

export function chatMethods(ai: AiService): RpcMethod[] {
  return [
    defineMethod({
      name: 'sessions.list',
      summary: "This tenant's sessions, most recently active first (cursor pagination).",
      params: z.object({ limit: z.number().int().min(1).max(500).default(50), cursor: z.string().max(300).optional() }).strict().default({ limit: 50 }),
      handler: (ctx, p) => listSessions(ctx.tenant.stateDb(), p.limit, p.cursor),
    }),
    defineMethod({
      name: 'sessions.get',
      summary: 'One session (agent, counts, times).',
      params: z.object({ sessionId: SessionIdSchema }).strict(),
      handler: (ctx, p) => getSession(ctx.tenant.stateDb(), p.sessionId),
    }),
    defineMethod({
      name: 'sessions.reset',
      summary: "Clears a session's transcript (the session stays).",
      params: z.object({ sessionId: SessionIdSchema }).strict(),
      handler: (ctx, p) => {
        refuseIfBusy(ai, ctx, p.sessionId);
        return resetSession(ctx.tenant.stateDb(), p.sessionId, iso());
      },
    }),
    defineMethod({
      name: 'sessions.delete',
      summary: 'Deletes a session and its transcript.',
      params: z.object({ sessionId: SessionIdSchema }).strict(),
      handler: (ctx, p) => {
        refuseIfBusy(ai, ctx, p.sessionId);
        return deleteSession(ctx.tenant.stateDb(), p.sessionId);
      },
    }),
    defineMethod({
      name: 'chat.send',
      summary: 'Runs a turn in a session (agent or model); streams chat.event over /ws; answers when the run ends. Same idempotencyKey = same run.',
      params: SendParams,
      handler: async (ctx, p) => {
        const db = ctx.tenant.stateDb();
        const sessionId = p.sessionId ?? `s-${randomUUID()}`;
        const requestHash = createHash('sha256').update(JSON.stringify([p.agent ?? null, p.model ?? null, p.message])).digest('hex');
        const existing = db.prepare('SELECT id, session_id, status, error, request_hash FROM ai_runs WHERE session_id = ? AND idempotency_key = ?').get(sessionId, p.idempotencyKey) as (RunRow & { request_hash: string | null }) | undefined;
        if (existing !== undefined) {
          if (existing.request_hash !== requestHash) throw new AppError('AI_IDEMPOTENCY_CONFLICT', { details: { idempotencyKey: p.idempotencyKey.slice(0, 128) } });
          const pending = ai.runs.get(`${ctx.tenant.id}\u0000${existing.id}`);
          if (pending !== undefined) await pending.catch(() => undefined);
          const row = db.prepare('SELECT id, session_id, status, error FROM ai_runs WHERE id = ?').get(existing.id) as RunRow;
          return { ...finalOf(ctx, row), replayed: true };
        }
        const agent = agentFor(ctx, p);
        const runId = `run-${randomUUID()}`;
        const gate = ai.gateOf(ctx.tenant);
        const slot = gate.admitRequest(ctx.tenant.record().quota, sessionId);
        try {
          db.transaction(() => {
            db.prepare('INSERT INTO ai_sessions (id, agent, created_at, updated_at) VALUES (?,?,?,?) ON CONFLICT(id) DO NOTHING').run(sessionId, agent.name === '' ? null : agent.name, iso(), iso());
            db.prepare("INSERT INTO ai_runs (id, session_id, idempotency_key, request_hash, status, created_at) VALUES (?, ?, ?, ?, 'queued', ?)").run(runId, sessionId, p.idempotencyKey, requestHash, iso());
          })();
        } catch (err) {
          gate.releaseRequest(slot);
          throw err;
        }
        const event = (state: string, extra: Record<string, unknown>): void => ctx.notify?.('chat.event', { runId, sessionId, state, ...extra });
        const finish = (status: string, error: string | null): void => {
          db.prepare('UPDATE ai_runs SET status = ?, error = ?, finished_at = ? WHERE id = ?').run(status, error, iso(), runId);
        };
        let runSignal: AbortSignal | undefined;
        const work = ai.lanes.run(laneKey(ctx.tenant.id, sessionId), runId, ctx.signal, async (signal) => {
          runSignal = signal;
          db.prepare("UPDATE ai_runs SET status = 'running' WHERE id = ?").run(runId);
          event('started', {});
          return runAgentTurn({
            tenant: ctx.tenant,
            ai,
            agent,
            sessionId,
            runId,
            requestId: ctx.tenant.requestId,
            incoming: [{ role: 'user', content: p.message }],
            signal,
            ...(ctx.notify === undefined ? {} : { onChunk: (c) => { if (c.content !== undefined) event('delta', { delta: c.content }); } }),
            now: () => ai.nowMs(),
            memoryTools: ai.memoryTools(),
          });
        });
        const key = `${ctx.tenant.id}\u0000${runId}`;
        ai.runs.set(key, work);
        try {
          const r = await work;
          finish('final', null);
          event('final', { message: { role: 'assistant', content: r.content }, usage: usageToOpenAi(r.usage) });
          return { runId, sessionId, status: 'final', message: { role: 'assistant', content: r.content, ...(r.toolCalls.length > 0 ? { tool_calls: r.toolCalls } : {}) }, usage: usageToOpenAi(r.usage) };
        } catch (err) {
          // aborted by chat.abort, by the client going away, or while still queued
          const aborted = runSignal?.aborted === true || ctx.signal.aborted || (runSignal === undefined && !(err instanceof AppError));
          finish(aborted ? 'aborted' : 'error', err instanceof AppError ? err.code : aborted ? 'aborted' : 'INTERNAL');
          event(aborted ? 'aborted' : 'error', err instanceof AppError ? { error: { code: err.code, message: err.message } } : {});
          if (aborted) return { ...finalOf(ctx, db.prepare('SELECT id, session_id, status, error FROM ai_runs WHERE id = ?').get(runId) as RunRow) };
          throw err;
        } finally {
          ai.runs.delete(key);
          gate.releaseRequest(slot);
        }
      },
    }),
    defineMethod({
      name: 'chat.history',
      summary: "A session's transcript after a sequence number (oldest first).",
      params: z.object({ sessionId: SessionIdSchema, afterSeq: z.number().int().min(0).default(0), limit: z.number().int().min(1).max(1000).default(200) }).strict(),
      handler: (ctx, p) => {
        const db = ctx.tenant.stateDb();
        getSession(db, p.sessionId);
        const messages = messagesOf(db, p.sessionId, p.afterSeq, p.limit);
        return { sessionId: p.sessionId, messages, nextAfterSeq: messages.length === p.limit ? (messages[messages.length - 1]?.seq ?? null) : null };
      },
    }),
    defineMethod({
      name: 'chat.abort',
      summary: 'Aborts the running (or a queued) run of a session.',
      params: z.object({ sessionId: SessionIdSchema, runId: z.string().max(100).optional() }).strict(),
      handler: (ctx, p) => ({ sessionId: p.sessionId, aborted: ai.lanes.abort(laneKey(ctx.tenant.id, p.sessionId), p.runId) }),
    }),
  ];
}
