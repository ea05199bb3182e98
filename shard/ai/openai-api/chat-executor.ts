// Executes one OpenAI-style chat job for a tenant: model or agent, session, admission, streaming.
import { createHash, randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../../router/errors/app-error.ts';
import type { TenantContext } from '../../tenants/tenant-context.ts';
import { tenantOf } from '../../http/tenant-request.ts';
import { getAgent } from '../agents/agent-store.ts';
import { runAgentTurn } from '../agents/agent-runner.ts';
import type { AiService } from '../ai-service.ts';
import type { ChatChunk, ChatMessage, ChatRequest, FinishReason, ToolCall, ToolDef, Usage } from '../providers/provider.ts';
import { SESSION_ID_PATTERN, assertSessionId } from '../sessions/session-store.ts';
import { assertDiskRoom } from '../../limits/disk-quota.ts';

export const SESSION_HEADER = 'x-openclawmu-session';
export const AGENT_PREFIX = 'agent:';

export interface ChatJob {
  model: string;
  messages: ChatMessage[];
  tools?: ToolDef[];
  options: Pick<ChatRequest, 'temperature' | 'top_p' | 'max_tokens' | 'stop' | 'tool_choice'>;
  extra?: Record<string, unknown>;
  user?: string;
}

export interface ChatOutcome {
  content: string | null;
  toolCalls: ToolCall[];
  finishReason: FinishReason;
  usage: Usage;
  sessionId: string | null;
}

/** The session a request names: the header, else `user:<user>` (hashed when it has other characters). */
export function sessionOfRequest(header: string | string[] | undefined, user: string | undefined): string | null {
  const h = Array.isArray(header) ? header[0] : header;
  if (h !== undefined && h !== '') return assertSessionId(h);
  if (user !== undefined && user !== '') {
    const direct = `user:${user}`;
    return SESSION_ID_PATTERN.test(direct) ? direct : `user:h-${createHash('sha256').update(user).digest('hex').slice(0, 32)}`;
  }
  return null;
}

/** Splits request messages into (system text, the turn's new messages) for an agent with history. */
function agentInput(messages: ChatMessage[], fresh: boolean): { extraSystem: string; incoming: ChatMessage[] } {
  const system = messages.filter((m) => m.role === 'system' || m.role === 'developer').map((m) => (typeof m.content === 'string' ? m.content : '')).join('\n\n');
  const rest = messages.filter((m) => m.role !== 'system' && m.role !== 'developer');
  if (fresh) return { extraSystem: system, incoming: rest };
  // a session holds the history: only what follows the client's last assistant message is new
  let i = rest.length;
  while (i > 0 && rest[i - 1]?.role !== 'assistant') i--;
  return { extraSystem: system, incoming: rest.slice(i) };
}

export interface ExecContext {
  req: FastifyRequest;
  reply: FastifyReply;
  ai: AiService;
}

/**
 * Authenticates, admits (requests/minute, sessions), runs, and keeps the tenant counted in flight
 * until the ledger row is written (even when the client left early). `onStart` is called once the
 * session is known (to set response headers before any byte goes out).
 */
export async function executeChat(
  x: ExecContext,
  job: ChatJob,
  opts: { sessionHeader: string | string[] | undefined; onChunk?: (c: ChatChunk) => void; onSession?: (id: string) => void; tenant?: TenantContext },
): Promise<ChatOutcome> {
  const tenant = opts.tenant ?? (await tenantOf(x.req));
  const hold = x.req.server.shard.ownership.enter(tenant.id);
  const abort = new AbortController();
  const onClose = (): void => {
    if (!x.reply.raw.writableFinished) abort.abort(new Error('client closed the connection'));
  };
  x.reply.raw.once('close', onClose);
  try {
    const isAgent = job.model.startsWith(AGENT_PREFIX);
    let sessionId = sessionOfRequest(opts.sessionHeader, job.user);
    const fresh = sessionId === null;
    if (isAgent && sessionId === null) sessionId = `s-${randomUUID()}`;
    if (sessionId !== null) opts.onSession?.(sessionId);
    // an unknown model is a 404 before it can count against requests/minute
    if (!isAgent) x.ai.registry.resolve(job.model);
    // an agent turn writes its session transcript: room for at least the incoming messages
    if (isAgent) assertDiskRoom(tenant, Buffer.byteLength(JSON.stringify(job.messages)));
    const gate = x.ai.gateOf(tenant);
    const slot = gate.admitRequest(tenant.record().quota, isAgent ? sessionId : null);
    try {
      if (!isAgent) {
        const call = {
          model: job.model,
          request: { ...job.options, messages: job.messages, ...(job.tools === undefined ? {} : { tools: job.tools }), ...(job.extra === undefined ? {} : { extra: job.extra }) },
          requestId: String(x.req.id),
          sessionId,
          signal: abort.signal,
        };
        if (opts.onChunk === undefined) {
          const r = await x.ai.complete(tenant, call);
          return { content: r.content, toolCalls: r.toolCalls, finishReason: r.finishReason, usage: r.usage, sessionId };
        }
        const it = x.ai.stream(tenant, call);
        for (;;) {
          const n = await it.next();
          if (n.done === true) return { content: n.value.content, toolCalls: n.value.toolCalls, finishReason: n.value.finishReason, usage: n.value.usage, sessionId };
          opts.onChunk(n.value);
        }
      }
      const name = job.model.slice(AGENT_PREFIX.length);
      let agent;
      try {
        agent = getAgent(tenant.stateDb(), name);
      } catch (err) {
        if (err instanceof AppError && err.code === 'AI_AGENT_NOT_FOUND') throw new AppError('AI_MODEL_NOT_FOUND', { message: `The model '${job.model.slice(0, 200)}' does not exist.`, details: { model: job.model.slice(0, 200) } });
        throw err;
      }
      const sid = sessionId as string;
      const { extraSystem, incoming } = agentInput(job.messages, fresh);
      const runId = `run-${randomUUID()}`;
      const r = await x.ai.lanes.run(`${tenant.id}\u0000${sid}`, runId, abort.signal, (signal) =>
        runAgentTurn({
          tenant,
          ai: x.ai,
          agent,
          sessionId: sid,
          runId,
          requestId: String(x.req.id),
          incoming,
          extraSystem,
          ...(job.tools === undefined ? {} : { clientTools: job.tools }),
          options: job.options,
          signal,
          ...(opts.onChunk === undefined ? {} : { onChunk: opts.onChunk }),
          now: () => x.req.server.shard.now().getTime(),
          memoryTools: x.ai.memoryTools(),
        }),
      );
      return { content: r.content, toolCalls: r.toolCalls, finishReason: r.finishReason, usage: r.usage, sessionId: sid };
    } finally {
      gate.releaseRequest(slot);
    }
  } finally {
    x.reply.raw.off('close', onClose);
    hold?.();
  }
}
