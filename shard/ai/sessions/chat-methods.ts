// sessions.* and chat.* JSON-RPC methods: list/get/reset/delete sessions; send (one run at a time
// per session, idempotent, streamed as chat.event over /ws), history, abort.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../../../router/errors/app-error.ts';
import type { TenantContext } from '../../tenants/tenant-context.ts';
import { defineMethod, type RpcContext, type RpcMethod } from '../../rpc/rpc-method.ts';
import type { AiService } from '../ai-service.ts';
import { laneKey, type RunService, type TurnEvent } from '../run-service.ts';
import { AgentNameSchema, getAgent, type Agent } from '../agents/agent-store.ts';
import { usageToOpenAi } from '../providers/provider.ts';
import { deleteSession, getSession, listSessions, messagesOf, messagesWithin, resetSession, SessionIdSchema } from './session-store.ts';

/** The JSON of a chat.history answer around its messages (ids, nextAfterSeq), with room to spare. */
const HISTORY_ENVELOPE_BYTES = 512;
const iso = (): string => new Date().toISOString();

function refuseIfBusy(ai: AiService, ctx: RpcContext, sessionId: string): void {
  if (ai.lanes.isBusy(laneKey(ctx.tenant.id, sessionId))) throw new AppError('AI_SESSION_BUSY', { details: { sessionId } });
}

/** The agent a turn names, or an implicit one around a plain model (tenant config defaults); chat.send and cron use it. */
export function agentFor(tenant: TenantContext, p: { agent?: string | undefined; model?: string | undefined }): Agent {
  if (p.agent !== undefined) return getAgent(tenant.stateDb(), p.agent);
  const chat = (tenant.config()['chat'] ?? {}) as { defaultModel?: string; systemPrompt?: string };
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

/** A turn's events as chat.event notifications over /ws (content deltas only; tool calls stay inside the run). */
function chatEvent(notify: NonNullable<RpcContext['notify']>, sessionId: string, e: TurnEvent): void {
  const base = { runId: e.runId, sessionId };
  switch (e.type) {
    case 'started':
      notify('chat.event', { ...base, state: 'started' });
      return;
    case 'chunk':
      if (e.chunk.content !== undefined) notify('chat.event', { ...base, state: 'delta', delta: e.chunk.content });
      return;
    case 'final':
      notify('chat.event', { ...base, state: 'final', message: { role: 'assistant', content: e.content }, usage: usageToOpenAi(e.usage) });
      return;
    case 'error':
      notify('chat.event', { ...base, state: e.aborted ? 'aborted' : 'error', ...(e.error === undefined ? {} : { error: { code: e.error.code, message: e.error.message } }) });
      return;
  }
}

export function chatMethods(ai: AiService, runs: RunService): RpcMethod[] {
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
      writesDisk: true,
      summary: 'Runs a turn in a session (agent or model); streams chat.event over /ws; answers when the run ends. Same idempotencyKey = same run.',
      params: SendParams,
      handler: async (ctx, p) => {
        const sessionId = p.sessionId ?? `s-${randomUUID()}`;
        const notify = ctx.notify;
        const onEvent = notify === undefined ? undefined : (e: TurnEvent): void => chatEvent(notify, sessionId, e);
        const r = await runs.startTurn({
          tenant: ctx.tenant,
          session: sessionId,
          input: { kind: 'agent', agent: () => agentFor(ctx.tenant, p), messages: [{ role: 'user', content: p.message }], fingerprint: [p.agent ?? null, p.model ?? null, p.message] },
          idempotencyKey: p.idempotencyKey,
          signal: ctx.signal,
          ...(onEvent === undefined ? {} : { onEvent }),
        });
        if (r.status !== 'final') {
          const row = ctx.tenant.stateDb().prepare('SELECT id, session_id, status, error FROM ai_runs WHERE id = ?').get(r.runId) as RunRow;
          return r.status === 'replayed' ? { ...finalOf(ctx, row), replayed: true } : finalOf(ctx, row);
        }
        return { runId: r.runId, sessionId, status: 'final', message: { role: 'assistant', content: r.content, ...(r.toolCalls.length > 0 ? { tool_calls: r.toolCalls } : {}) }, usage: usageToOpenAi(r.usage) };
      },
    }),
    defineMethod({
      name: 'chat.history',
      summary: "A session's transcript after a sequence number (oldest first).",
      params: z.object({ sessionId: SessionIdSchema, afterSeq: z.number().int().min(0).default(0), limit: z.number().int().min(1).max(1000).default(200) }).strict(),
      handler: (ctx, p) => {
        const db = ctx.tenant.stateDb();
        getSession(db, p.sessionId);
        // Paged within this call's share of the response bound (a batch of these cannot add up to more).
        const { messages, cut } = messagesWithin(db, p.sessionId, p.afterSeq, p.limit, (ctx.resultBudgetBytes ?? Number.MAX_SAFE_INTEGER) - HISTORY_ENVELOPE_BYTES);
        return { sessionId: p.sessionId, messages, nextAfterSeq: cut || messages.length === p.limit ? (messages[messages.length - 1]?.seq ?? null) : null };
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
