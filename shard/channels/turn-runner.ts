// The seam between channels and the agent runtime: one turn per channel message, deduped by its
// idempotency key. Today it runs through the AI feature's `chat.send`; it becomes
// RunService.startTurn when that lands (DESIGN §12) without the channel layer changing.
import { AppError } from '../../router/errors/app-error.ts';
import type { AiService } from '../ai/ai-service.ts';
import { chatMethods } from '../ai/sessions/chat-methods.ts';
import type { TenantContext } from '../tenants/tenant-context.ts';
import type { TurnRunner } from './channel-runner.ts';

export type TenantTurnRunner = (tenant: TenantContext) => TurnRunner;

export function chatSendTurnRunner(ai: AiService): TenantTurnRunner {
  const send = chatMethods(ai).find((m) => m.name === 'chat.send');
  if (send === undefined) throw new Error('the AI feature has no chat.send');
  return (tenant) => async (input) => {
    const text = input.text.trim() === '' ? `(${input.message.attachments.length} attachment(s) without text)` : input.text;
    const out = (await send.handler({ tenant, signal: new AbortController().signal }, { sessionId: input.sessionKey, message: text, idempotencyKey: input.idempotencyKey })) as {
      status: string;
      message: { content?: unknown } | null;
      error?: string;
    };
    if (out.status !== 'final') throw new AppError('AI_PROVIDER_ERROR', { details: { status: out.status, ...(out.error === undefined ? {} : { error: out.error }) } });
    const content = out.message?.content;
    return typeof content === 'string' ? content : '';
  };
}
