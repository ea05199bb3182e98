// Executes one OpenAI-style chat job for a tenant (model or agent:<name>, session from the header or
// `user`) as a turn of the RunService.
import { createHash, randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../../router/errors/app-error.ts';
import type { TenantContext } from '../../tenants/tenant-context.ts';
import { tenantOf } from '../../http/tenant-request.ts';
import { getAgent, type Agent } from '../agents/agent-store.ts';
import type { RunService, TurnEvent, TurnInput } from '../run-service.ts';
import type { ChatChunk, ChatMessage, ChatRequest, FinishReason, ToolCall, ToolDef, Usage } from '../providers/provider.ts';
import { SESSION_ID_PATTERN, assertSessionId } from '../sessions/session-store.ts';

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
function agentInput(messages: ChatMessage[], fresh: boolean): { extraSystem: string; messages: ChatMessage[] } {
  const system = messages.filter((m) => m.role === 'system' || m.role === 'developer').map((m) => (typeof m.content === 'string' ? m.content : '')).join('\n\n');
  const rest = messages.filter((m) => m.role !== 'system' && m.role !== 'developer');
  if (fresh) return { extraSystem: system, messages: rest };
  // a session holds the history: only what follows the client's last assistant message is new
  let i = rest.length;
  while (i > 0 && rest[i - 1]?.role !== 'assistant') i--;
  return { extraSystem: system, messages: rest.slice(i) };
}

export interface ExecContext {
  req: FastifyRequest;
  reply: FastifyReply;
  runs: RunService;
}

/**
 * Authenticates, resolves the session, and runs the job as one turn of the RunService (admission,
 * lanes, ledger). The turn is aborted when the client goes away. `onSession` is called once the
 * session is known (to set response headers before any byte goes out).
 */
export async function executeChat(
  x: ExecContext,
  job: ChatJob,
  opts: { sessionHeader: string | string[] | undefined; onChunk?: (c: ChatChunk) => void; onSession?: (id: string) => void },
): Promise<ChatOutcome> {
  const tenant = await tenantOf(x.req);
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
    const onChunk = opts.onChunk;
    const onEvent = onChunk === undefined ? undefined : (e: TurnEvent): void => void (e.type === 'chunk' && onChunk(e.chunk));
    const tools = job.tools === undefined ? {} : { tools: job.tools };
    const input: TurnInput = isAgent
      ? { kind: 'agent', agent: () => agentNamed(tenant, job.model), ...agentInput(job.messages, fresh), ...(job.tools === undefined ? {} : { clientTools: job.tools }), options: job.options }
      : { kind: 'model', model: job.model, messages: job.messages, ...tools, options: job.options, ...(job.extra === undefined ? {} : { extra: job.extra }) };
    const r = await x.runs.startTurn({ tenant, session: sessionId, input, signal: abort.signal, ...(onEvent === undefined ? {} : { onEvent }) });
    if (r.status !== 'final') throw new AppError('INTERNAL', { message: 'An unrecorded turn cannot be replayed or aborted quietly.' });
    return { content: r.content, toolCalls: r.toolCalls, finishReason: r.finishReason, usage: r.usage, sessionId };
  } finally {
    x.reply.raw.off('close', onClose);
  }
}

/** The tenant agent an `agent:<name>` model names; unknown agents are unknown models (OpenAI semantics). */
function agentNamed(tenant: TenantContext, model: string): Agent {
  try {
    return getAgent(tenant.stateDb(), model.slice(AGENT_PREFIX.length));
  } catch (err) {
    if (err instanceof AppError && err.code === 'AI_AGENT_NOT_FOUND') throw new AppError('AI_MODEL_NOT_FOUND', { message: `The model '${model.slice(0, 200)}' does not exist.`, details: { model: model.slice(0, 200) } });
    throw err;
  }
}
