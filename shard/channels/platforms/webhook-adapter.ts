// Signed webhook: a generic inbound POST signed with HMAC-SHA256 over `v1:<timestamp>:<body>`; replies
// POSTed to the channel's callback URL through the SSRF-guarded agent, signed the same way.
import { z } from 'zod';
import { AppError } from '../../../router/errors/app-error.ts';
import { AccessSettingsSchema } from '../access-policy.ts';
import type { ChannelAdapter, InboundRequest, InboundResult } from '../channel-adapter.ts';
import type { SendReceipt } from '../channel-message.ts';
import { ChannelSendError, platformCall } from '../platform-call.ts';
import { checkTimestamp, hmacSha256Hex, parseJsonBody, randomSecret, safeEqual, signatureInvalid } from '../signatures.ts';

export const WebhookCredentialsSchema = z
  .object({
    /** Shared with the sender; signs both directions. Generated when absent (shown once, on add). */
    signingSecret: z.string().regex(/^[A-Za-z0-9_-]{32,128}$/).optional(),
  })
  .strict();
export type WebhookCredentials = z.infer<typeof WebhookCredentialsSchema>;

export const WebhookSettingsSchema = AccessSettingsSchema.extend({
  dmPolicy: z.enum(['pairing', 'allowlist', 'open', 'disabled']).default('open'),
  /** Where replies go (https in production; the SSRF guard refuses private addresses unless the operator allows them). */
  callbackUrl: z.url({ protocol: /^https?$/ }),
}).strict();
export type WebhookSettings = z.infer<typeof WebhookSettingsSchema>;

export const WEBHOOK_SIGNATURE_WINDOW_SECONDS = 300;

const WebhookEventSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/),
    conversation: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/, 'conversations are 1-128 of letters, digits and ._:@-'),
    sender: z.object({ id: z.string().min(1).max(200), name: z.string().max(200).optional() }).strict(),
    text: z.string().max(32_000),
    replyTo: z.string().max(200).optional(),
    group: z.boolean().optional(),
    mentioned: z.boolean().optional(),
  })
  .strict();

/** `v1=` + HMAC-SHA256(secret, `v1:<ts>:<body>`): the scheme in both directions (docs/channels.md). */
export function webhookSignature(secret: string, timestamp: number, body: string | Buffer): string {
  return `v1=${hmacSha256Hex(secret, Buffer.concat([Buffer.from(`v1:${timestamp}:`, 'utf8'), Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8')]))}`;
}

export function verifyWebhookSignature(secret: string | undefined, headers: InboundRequest['headers'], rawBody: Buffer, nowMs: number): void {
  const sig = headers['x-openclawmu-signature'];
  if (secret === undefined || sig === undefined) throw signatureInvalid('missing');
  const ts = checkTimestamp(headers['x-openclawmu-timestamp'], nowMs, WEBHOOK_SIGNATURE_WINDOW_SECONDS);
  if (!safeEqual(sig, webhookSignature(secret, ts, rawBody))) throw signatureInvalid('mismatch');
}

export const webhookAdapter: ChannelAdapter<WebhookCredentials, WebhookSettings> = {
  platform: 'webhook',
  credentialsSchema: WebhookCredentialsSchema,
  settingsSchema: WebhookSettingsSchema,
  maxTextLength: 32_000,
  // Every reply carries Idempotency-Key: the receiver dedupes, so an ambiguous send is retried.
  idempotentSends: true,

  completeCredentials(given) {
    return { signingSecret: given.signingSecret ?? randomSecret(32) };
  },

  publicCredentials() {
    return {};
  },

  usesConnector() {
    return false;
  },

  receive(ctx, req): InboundResult {
    verifyWebhookSignature(ctx.credentials.signingSecret, req.headers, req.rawBody, ctx.now());
    const parsed = WebhookEventSchema.safeParse(parseJsonBody(req.rawBody));
    if (!parsed.success) throw new AppError('CHANNEL_PAYLOAD_INVALID', { details: { platform: 'webhook', field: parsed.error.issues[0]?.path.join('.') ?? '' } });
    const e = parsed.data;
    return {
      response: { status: 202, body: { accepted: true } },
      events: [
        {
          message: {
            eventId: e.id,
            conversation: e.conversation,
            sender: { id: e.sender.id, ...(e.sender.name === undefined ? {} : { name: e.sender.name }) },
            text: e.text,
            attachments: [],
            chatType: e.group === true ? 'group' : 'direct',
            mentioned: e.group === true ? e.mentioned === true : true,
            ...(e.replyTo === undefined ? {} : { replyTo: e.replyTo }),
          },
          raw: e,
        },
      ],
    };
  },

  async send(ctx, reply, idempotencyKey, signal): Promise<SendReceipt> {
    const secret = ctx.credentials.signingSecret;
    if (secret === undefined) throw new ChannelSendError({ ambiguous: false, platformError: 'no signing secret' });
    const body = JSON.stringify({ id: idempotencyKey, conversation: reply.conversation, text: reply.text, ...(reply.replyTo === undefined ? {} : { replyTo: reply.replyTo }) });
    const ts = Math.floor(ctx.now() / 1000);
    const res = await platformCall(ctx.settings.callbackUrl, {
      headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey, 'x-openclawmu-timestamp': String(ts), 'x-openclawmu-signature': webhookSignature(secret, ts, body) },
      body,
      dispatcher: ctx.dispatcher,
      timeoutMs: ctx.platformTimeoutMs,
      ...(signal ? { signal } : {}),
    });
    if (res.status >= 200 && res.status < 300) return { platformMessageId: idempotencyKey };
    throw new ChannelSendError({ ambiguous: res.status >= 500, status: res.status });
  },
};
