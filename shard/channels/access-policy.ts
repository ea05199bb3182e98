// Who may talk to a channel's agent: the DM policy, the group mention rule (pure; DESIGN §13).
import { z } from 'zod';
import type { InboundMessage } from './channel-message.ts';

export const AccessSettingsSchema = z
  .object({
    /** pairing: unknown senders get a code the tenant approves; allowlist: only allowFrom; open: anyone. */
    dmPolicy: z.enum(['pairing', 'allowlist', 'open', 'disabled']).default('pairing'),
    /** Platform sender ids allowed without pairing. */
    allowFrom: z.array(z.string().min(1).max(128)).max(1000).default([]),
    /** Groups: answer only when the bot is mentioned (default), always, or never. */
    groupPolicy: z.enum(['mention', 'open', 'disabled']).default('mention'),
  })
  .strict();
export type AccessSettings = z.infer<typeof AccessSettingsSchema>;

export type AccessDecision = 'run' | 'pair' | 'ignore';

export function decideAccess(msg: InboundMessage, settings: AccessSettings, senderApproved: boolean): AccessDecision {
  if (msg.sender.isBot === true) return 'ignore';
  if (msg.chatType === 'group') {
    switch (settings.groupPolicy) {
      case 'disabled':
        return 'ignore';
      case 'mention':
        return msg.mentioned ? 'run' : 'ignore';
      case 'open':
        return 'run';
    }
  }
  const allowed = senderApproved || settings.allowFrom.includes(msg.sender.id);
  switch (settings.dmPolicy) {
    case 'disabled':
      return 'ignore';
    case 'open':
      return 'run';
    case 'allowlist':
      return allowed ? 'run' : 'ignore';
    case 'pairing':
      return allowed ? 'run' : 'pair';
  }
}
