// The seam between channels and the agent runtime: one RunService turn per channel message, in the
// session `channel:<name>:<conversation>`, deduped by the event's idempotency key (DESIGN §12).
import { AppError } from '../../router/errors/app-error.ts';
import type { Agent } from '../ai/agents/agent-store.ts';
import type { RunService } from '../ai/run-service.ts';
import { messagesOf } from '../ai/sessions/session-store.ts';
import type { TenantContext } from '../tenants/tenant-context.ts';
import type { TurnRunner } from './channel-runner.ts';

export type TenantTurnRunner = (tenant: TenantContext) => TurnRunner;

/** The tenant's implicit agent (config `chat.defaultModel` / `chat.systemPrompt`; the echo model by default). */
function implicitAgent(tenant: TenantContext): Agent {
  const chat = (tenant.config()['chat'] ?? {}) as { defaultModel?: string; systemPrompt?: string };
  const now = new Date().toISOString();
  return { name: '', model: chat.defaultModel ?? 'echo', systemPrompt: chat.systemPrompt ?? '', tools: [], memory: false, maxToolSteps: 0, createdAt: now, updatedAt: now };
}

export function runServiceTurnRunner(runs: RunService): TenantTurnRunner {
  return (tenant) => async (input) => {
    const text = input.text.trim() === '' ? `(${input.message.attachments.length} attachment(s) without text)` : input.text;
    const r = await runs.startTurn({
      tenant,
      session: input.sessionKey,
      input: { kind: 'agent', agent: () => implicitAgent(tenant), messages: [{ role: 'user', content: text }], fingerprint: ['channel', text] },
      idempotencyKey: input.idempotencyKey,
      signal: new AbortController().signal,
    });
    if (r.status === 'final') return r.content ?? '';
    if (r.status === 'replayed') {
      // the turn ran before a crash, its answer not yet stored with the event: read it back
      const answer = messagesOf(tenant.stateDb(), r.sessionId).filter((m) => m.runId === r.runId && m.role === 'assistant').at(-1);
      return typeof answer?.content === 'string' ? answer.content : '';
    }
    throw new AppError('AI_PROVIDER_ERROR', { details: { status: r.status } });
  };
}
