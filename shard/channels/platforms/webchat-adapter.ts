// WebChat: an embeddable page and widget served at /hooks/<tenant>/<channel>/, authenticated by the
// channel's publishable key; each visitor holds a random token whose hash is its conversation.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../../../router/errors/app-error.ts';
import { AccessSettingsSchema } from '../access-policy.ts';
import type { ChannelAdapter, InboundRequest, InboundResult } from '../channel-adapter.ts';
import type { SendReceipt } from '../channel-message.ts';
import { parseJsonBody, randomSecret, safeEqual, signatureInvalid } from '../signatures.ts';

export const WebchatCredentialsSchema = z
  .object({
    /** Embedded in pages; identifies the channel, grants only "talk as a visitor". Generated when absent. */
    publishableKey: z.string().regex(/^pk_[0-9a-f]{32}$/).optional(),
  })
  .strict();
export type WebchatCredentials = z.infer<typeof WebchatCredentialsSchema>;

export const WebchatSettingsSchema = AccessSettingsSchema.extend({
  dmPolicy: z.enum(['pairing', 'allowlist', 'open', 'disabled']).default('open'),
  title: z.string().max(80).default('Chat'),
  /** Messages per visitor per minute. */
  visitorMessagesPerMinute: z.number().int().min(1).max(600).default(20),
}).strict();
export type WebchatSettings = z.infer<typeof WebchatSettingsSchema>;

export const VisitorTokenSchema = z.string().regex(/^[0-9a-f]{32,64}$/, 'a visitor token is 32-64 hex characters');

const WebchatMessageSchema = z
  .object({
    visitorToken: VisitorTokenSchema,
    /** The widget's own id for this message: a resend after a network error is the same event. */
    messageId: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/),
    text: z.string().min(1).max(8000),
  })
  .strict();

/** The conversation of a visitor: a hash of its token, so state.db never holds the bearer token. */
export function visitorConversation(visitorToken: string): string {
  return `v-${createHash('sha256').update(visitorToken, 'utf8').digest('hex').slice(0, 32)}`;
}

export function checkPublishableKey(creds: WebchatCredentials, given: string | undefined): void {
  if (given === undefined || creds.publishableKey === undefined) throw signatureInvalid('missing');
  if (!safeEqual(given, creds.publishableKey)) throw signatureInvalid('mismatch');
}

export function publishableKeyOf(req: InboundRequest): string | undefined {
  return req.headers['x-openclawmu-publishable-key'] ?? req.query['key'];
}

export const webchatAdapter: ChannelAdapter<WebchatCredentials, WebchatSettings> = {
  platform: 'webchat',
  credentialsSchema: WebchatCredentialsSchema,
  settingsSchema: WebchatSettingsSchema,
  maxTextLength: 8000,
  // The "send" is the reply becoming visible to the visitor's poll; repeating it is harmless.
  idempotentSends: true,

  completeCredentials(given) {
    return { publishableKey: given.publishableKey ?? `pk_${randomSecret(16)}` };
  },

  publicCredentials(creds): Record<string, string> {
    const out: Record<string, string> = {};
    if (creds.publishableKey !== undefined) out['publishableKey'] = creds.publishableKey;
    return out;
  },

  usesConnector() {
    return false;
  },

  receive(ctx, req): InboundResult {
    checkPublishableKey(ctx.credentials, publishableKeyOf(req));
    if (req.method !== 'POST' || (req.subPath !== '' && req.subPath !== 'messages')) throw new AppError('NOT_FOUND');
    const parsed = WebchatMessageSchema.safeParse(parseJsonBody(req.rawBody));
    if (!parsed.success) throw new AppError('CHANNEL_PAYLOAD_INVALID', { details: { platform: 'webchat', field: parsed.error.issues[0]?.path.join('.') ?? '' } });
    const conversation = visitorConversation(parsed.data.visitorToken);
    const eventId = `${conversation}:${parsed.data.messageId}`;
    return {
      response: { status: 202, body: { accepted: true, eventId: parsed.data.messageId } },
      events: [
        {
          message: { eventId, conversation, sender: { id: conversation }, text: parsed.data.text, attachments: [], chatType: 'direct', mentioned: true },
          raw: { messageId: parsed.data.messageId, text: parsed.data.text },
        },
      ],
    };
  },

  send(_ctx, _reply, idempotencyKey): Promise<SendReceipt> {
    // The egress row itself is the visitor's inbox (GET .../messages reads sent rows).
    return Promise.resolve({ platformMessageId: idempotencyKey });
  },
};
