// Runs an agent turn: session history in, bounded tool loop over built-in tools, transcript out.
import { AppError } from '../../../router/errors/app-error.ts';
import type { MemoryTools } from '../../memory/memory-tools.ts';
import type { TenantContext } from '../../tenants/tenant-context.ts';
import type { AiService } from '../ai-service.ts';
import { addUsage, ZERO_USAGE, type ChatChunk, type ChatMessage, type ChatRequest, type FinishReason, type ToolCall, type ToolDef, type Usage } from '../providers/provider.ts';
import { appendMessages, ensureSession, historyFor } from '../sessions/session-store.ts';
import type { Agent } from './agent-store.ts';
import { BUILTIN_TOOL_DEFS, isBuiltinTool, runBuiltinTool, type BuiltinToolName } from './builtin-tools.ts';

export interface AgentTurn {
  tenant: TenantContext;
  ai: AiService;
  agent: Agent;
  sessionId: string;
  runId: string;
  requestId: string;
  /** New messages of this turn (user and tool results), persisted before the model runs. */
  incoming: ChatMessage[];
  /** System text from the request, added after the agent's prompt (not persisted). */
  extraSystem?: string;
  clientTools?: ToolDef[];
  options?: Pick<ChatRequest, 'temperature' | 'top_p' | 'max_tokens' | 'stop' | 'tool_choice'>;
  signal: AbortSignal;
  /** When set, the turn streams: content deltas (and the final client tool calls) come here. */
  onChunk?: (c: ChatChunk) => void;
  now: () => number;
  /** memory_search / memory_save over the tenant's memory.db, offered when the agent has memory on. */
  memoryTools?: MemoryTools;
}

export interface AgentResult {
  content: string | null;
  toolCalls: ToolCall[];
  finishReason: FinishReason;
  usage: Usage;
  steps: number;
  model: string;
}

/** Drops tool calls that never got their results (a turn cut short), so the history stays valid. */
export function repairHistory(msgs: ChatMessage[]): ChatMessage[] {
  const out: ChatMessage[] = [];
  for (let i = 0; i < msgs.length; i++) {
    const m = msgs[i] as ChatMessage;
    if (m.role === 'assistant' && m.tool_calls !== undefined && m.tool_calls.length > 0) {
      const answered = new Set<string>();
      for (let k = i + 1; k < msgs.length && msgs[k]?.role === 'tool'; k++) answered.add(msgs[k]?.tool_call_id ?? '');
      const kept = m.tool_calls.filter((tc) => answered.has(tc.id));
      if (kept.length === m.tool_calls.length) out.push(m);
      else if (kept.length > 0) out.push({ ...m, tool_calls: kept });
      else if (m.content !== null && m.content !== '') out.push({ role: 'assistant', content: m.content });
      continue;
    }
    if (m.role === 'tool') {
      const prev = out[out.length - 1];
      const ok = prev !== undefined && (prev.role === 'tool' || prev.role === 'assistant') && out.some((p) => p.tool_calls?.some((tc) => tc.id === m.tool_call_id));
      if (!ok) continue;
    }
    out.push(m);
  }
  return out;
}

function systemPrompt(turn: AgentTurn): string {
  const parts = [turn.agent.systemPrompt];
  if (turn.agent.memory) {
    const db = turn.tenant.stateDb();
    const mem = db.prepare("SELECT content FROM ai_agent_files WHERE agent = ? AND path = 'MEMORY.md'").get(turn.agent.name) as { content: string } | undefined;
    if (mem !== undefined) parts.push(`Memory:\n${mem.content}`);
  }
  if (turn.extraSystem !== undefined && turn.extraSystem !== '') parts.push(turn.extraSystem);
  return parts.filter((p) => p !== '').join('\n\n');
}

export async function runAgentTurn(turn: AgentTurn): Promise<AgentResult> {
  const db = turn.tenant.stateDb();
  const iso = (): string => new Date(turn.now()).toISOString();
  ensureSession(db, turn.sessionId, turn.agent.name === '' ? null : turn.agent.name, iso());
  appendMessages(db, turn.sessionId, turn.incoming, turn.runId, iso());
  const builtinDefs = turn.agent.tools.filter((t): t is BuiltinToolName => isBuiltinTool(t, turn.agent.tools)).map((t) => BUILTIN_TOOL_DEFS[t]);
  const memory = turn.agent.memory ? turn.memoryTools : undefined;
  const memoryDefs: ToolDef[] = memory === undefined ? [] : memory.definitions.map((d) => ({ type: 'function', function: { ...d.function } }));
  const isInternal = (name: string): boolean => isBuiltinTool(name, turn.agent.tools) || (memory?.handles(name) ?? false);
  const clientTools = (turn.clientTools ?? []).filter((t) => !isInternal(t.function.name));
  const tools = [...builtinDefs, ...memoryDefs, ...clientTools];
  const sys = systemPrompt(turn);
  let usage: Usage = { ...ZERO_USAGE };
  let model = turn.agent.model;
  for (let step = 0; step <= turn.agent.maxToolSteps; step++) {
    const history = repairHistory(historyFor(db, turn.sessionId));
    const messages: ChatMessage[] = sys === '' ? history : [{ role: 'system', content: sys }, ...history];
    const request: Omit<ChatRequest, 'model'> = { ...turn.options, messages, ...(tools.length > 0 ? { tools } : {}) };
    const call = { model: turn.agent.model, request, requestId: turn.requestId, sessionId: turn.sessionId, signal: turn.signal };
    let content: string | null;
    let toolCalls: ToolCall[];
    let finishReason: FinishReason;
    if (turn.onChunk === undefined) {
      const r = await turn.ai.complete(turn.tenant, call);
      ({ content, toolCalls, finishReason, model } = r);
      usage = addUsage(usage, r.usage);
    } else {
      const it = turn.ai.stream(turn.tenant, call);
      let partial = '';
      try {
        for (;;) {
          const n = await it.next();
          if (n.done === true) {
            ({ content, toolCalls, finishReason, model } = n.value);
            usage = addUsage(usage, n.value.usage);
            break;
          }
          if (n.value.content !== undefined) {
            partial += n.value.content;
            turn.onChunk({ content: n.value.content });
          }
        }
      } catch (err) {
        // keep what the client already saw, so the transcript matches it; no dangling tool calls
        if (partial !== '') appendMessages(db, turn.sessionId, [{ role: 'assistant', content: partial }], turn.runId, iso());
        throw err;
      }
    }
    appendMessages(db, turn.sessionId, [{ role: 'assistant', content, ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) }], turn.runId, iso());
    const internal = toolCalls.filter((tc) => isInternal(tc.function.name));
    if (toolCalls.length === 0 || internal.length < toolCalls.length) {
      // done, or the model asked for the client's tools: hand them back (OpenAI semantics)
      const forClient = toolCalls.filter((tc) => !isInternal(tc.function.name));
      if (turn.onChunk !== undefined && forClient.length > 0) {
        turn.onChunk({ toolCalls: forClient.map((tc, index) => ({ index, id: tc.id, name: tc.function.name, arguments: tc.function.arguments })) });
      }
      return { content, toolCalls: forClient, finishReason: forClient.length > 0 ? 'tool_calls' : finishReason, usage, steps: step + 1, model };
    }
    if (step === turn.agent.maxToolSteps) break;
    const results: ChatMessage[] = [];
    for (const tc of internal) {
      const content =
        memory !== undefined && memory.handles(tc.function.name)
          ? await memory.execute(tc.function.name, tc.function.arguments, { tenant: turn.tenant, signal: turn.signal })
          : runBuiltinTool(db, turn.agent.name, tc.function.name as BuiltinToolName, tc.function.arguments, turn.now);
      results.push({ role: 'tool', tool_call_id: tc.id, content });
    }
    appendMessages(db, turn.sessionId, results, turn.runId, iso());
  }
  throw new AppError('AI_TOOL_LOOP_LIMIT', { details: { maxToolSteps: turn.agent.maxToolSteps } });
}
