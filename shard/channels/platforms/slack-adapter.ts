// Slack: Events API deliveries (v0 HMAC-SHA256 over `v0:<ts>:<body>`, 5-minute window,
// url_verification) or Socket Mode (apps.connections.open + envelope ack); chat.postMessage replies.
import { z } from 'zod';
import { AppError } from '../../../router/errors/app-error.ts';
import { AccessSettingsSchema } from '../access-policy.ts';
import type { AdapterContext, ChannelAdapter, InboundRequest, InboundResult } from '../channel-adapter.ts';
import type { InboundMessage, OutboundReply, SendReceipt } from '../channel-message.ts';
import type { IngressEvent } from '../channel-queues.ts';
import { ChannelSendError, platformCall } from '../platform-call.ts';
import { checkTimestamp, hmacSha256Hex, parseJsonBody, safeEqual, signatureInvalid } from '../signatures.ts';
import { SlackSocketConnector } from './slack-socket.ts';

export const SlackCredentialsSchema = z
  .object({
    botToken: z.string().regex(/^xoxb-[A-Za-z0-9-]{10,200}$/, 'a Slack bot token starts with xoxb-'),
    signingSecret: z.string().regex(/^[0-9a-f]{16,128}$/, 'the Slack signing secret is hex').optional(),
    /** App-level token for Socket Mode (connections:write). */
    appToken: z.string().regex(/^xapp-[A-Za-z0-9-]{10,300}$/, 'a Slack app-level token starts with xapp-').optional(),
  })
  .strict();
export type SlackCredentials = z.infer<typeof SlackCredentialsSchema>;

export const SlackSettingsSchema = AccessSettingsSchema.extend({
  mode: z.enum(['events', 'socket']).default('events'),
  /** The bot's user id (U…): `<@U…>` in a channel message counts as a mention. */
  botUserId: z.string().regex(/^[A-Z0-9]{2,32}$/).optional(),
}).strict();
export type SlackSettings = z.infer<typeof SlackSettingsSchema>;

/** Slack's documented replay window for request signatures. */
export const SLACK_SIGNATURE_WINDOW_SECONDS = 300;
/** chat.postMessage truncates past 40,000 characters; parts stay well below. */
export const SLACK_MAX_TEXT = 4000;

const SlackEventSchema = z.object({
  type: z.string(),
  subtype: z.string().optional(),
  channel: z.string().optional(),
  channel_type: z.string().optional(),
  user: z.string().optional(),
  bot_id: z.string().optional(),
  text: z.string().optional(),
  ts: z.string().optional(),
  thread_ts: z.string().optional(),
  files: z.array(z.object({ id: z.string(), name: z.string().optional(), mimetype: z.string().optional(), size: z.number().optional() })).optional(),
});
export const SlackEnvelopeSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('url_verification'), challenge: z.string().max(200) }),
  z.object({ type: z.literal('event_callback'), event_id: z.string(), event: SlackEventSchema }),
  z.object({ type: z.literal('app_rate_limited') }),
]);

/** An event_callback's message as an ingress event; null for events that are not a user's message. */
export function slackEvent(payload: unknown, settings: SlackSettings): IngressEvent | null {
  const env = SlackEnvelopeSchema.safeParse(payload);
  if (!env.success) throw new AppError('CHANNEL_PAYLOAD_INVALID', { details: { platform: 'slack' } });
  if (env.data.type !== 'event_callback') return null;
  const e = env.data.event;
  if (e.type !== 'message' && e.type !== 'app_mention') return null;
  if (e.subtype !== undefined && e.subtype !== 'file_share') return null;
  if (e.channel === undefined || e.ts === undefined || e.user === undefined) return null;
  const direct = e.channel_type === 'im';
  const text = e.text ?? '';
  const mentioned = direct || e.type === 'app_mention' || (settings.botUserId !== undefined && text.includes(`<@${settings.botUserId}>`));
  const message: InboundMessage = {
    // The message's own identity, not event_id: a retry and the message/app_mention pair that one
    // channel message produces both collapse onto it.
    eventId: `${e.channel}:${e.ts}`,
    conversation: e.thread_ts === undefined ? e.channel : `${e.channel}:${e.thread_ts}`,
    sender: { id: e.user, ...(e.bot_id === undefined ? {} : { isBot: true }) },
    text,
    attachments: (e.files ?? []).map((f) => ({ kind: 'file' as const, id: f.id, ...(f.name ? { name: f.name } : {}), ...(f.mimetype ? { mimeType: f.mimetype } : {}), ...(f.size === undefined ? {} : { bytes: f.size }) })),
    chatType: direct ? 'direct' : 'group',
    mentioned,
    ...(e.thread_ts === undefined ? {} : { thread: e.thread_ts }),
  };
  return { message, raw: payload };
}

/** Verifies `X-Slack-Signature` = v0=HMAC-SHA256(secret, `v0:<ts>:<body>`) within the window. */
export function verifySlackSignature(secret: string | undefined, headers: InboundRequest['headers'], rawBody: Buffer, nowMs: number): void {
  const sig = headers['x-slack-signature'];
  if (secret === undefined || sig === undefined) throw signatureInvalid('missing');
  const ts = checkTimestamp(headers['x-slack-request-timestamp'], nowMs, SLACK_SIGNATURE_WINDOW_SECONDS);
  const want = `v0=${hmacSha256Hex(secret, Buffer.concat([Buffer.from(`v0:${ts}:`, 'utf8'), rawBody]))}`;
  if (!safeEqual(sig, want)) throw signatureInvalid('mismatch');
}

export async function slackCall(ctx: AdapterContext<SlackCredentials, SlackSettings>, method: string, token: string, params: Record<string, unknown>, signal?: AbortSignal): Promise<Record<string, unknown>> {
  const res = await platformCall(`${ctx.apiBaseUrl}/${method}`, {
    headers: { 'content-type': 'application/json; charset=utf-8', authorization: `Bearer ${token}` },
    body: JSON.stringify(params),
    dispatcher: ctx.dispatcher,
    timeoutMs: ctx.platformTimeoutMs,
    ...(signal ? { signal } : {}),
  });
  const body = (res.body ?? {}) as Record<string, unknown>;
  if (res.status === 200 && body['ok'] === true) return body;
  const retryAfter = Number(res.headers['retry-after']);
  throw new ChannelSendError({
    // Slack answers ok:false (HTTP 200) or 429 when it did not act; 5xx and odd bodies are ambiguous.
    ambiguous: !(res.status === 429 || (res.status === 200 && body['ok'] === false)),
    status: res.status,
    ...(typeof body['error'] === 'string' ? { platformError: body['error'] } : {}),
    ...(Number.isFinite(retryAfter) ? { retryAfterSeconds: retryAfter } : {}),
  });
}

export const slackAdapter: ChannelAdapter<SlackCredentials, SlackSettings> = {
  platform: 'slack',
  credentialsSchema: SlackCredentialsSchema,
  settingsSchema: SlackSettingsSchema,
  maxTextLength: SLACK_MAX_TEXT,
  // chat.postMessage has no idempotency key.
  idempotentSends: false,

  completeCredentials(given) {
    return given;
  },

  publicCredentials() {
    return {};
  },

  usesConnector(settings) {
    return settings.mode === 'socket';
  },

  receive(ctx, req): InboundResult {
    verifySlackSignature(ctx.credentials.signingSecret, req.headers, req.rawBody, ctx.now());
    const body = parseJsonBody(req.rawBody);
    const env = SlackEnvelopeSchema.safeParse(body);
    if (env.success && env.data.type === 'url_verification') return { response: { status: 200, body: { challenge: env.data.challenge } }, events: [] };
    if (ctx.settings.mode !== 'events') throw new AppError('CHANNEL_DISABLED', { details: { reason: 'this channel uses Socket Mode; its Events API URL is off' } });
    const event = slackEvent(body, ctx.settings);
    return { response: { status: 200, body: {} }, events: event === null ? [] : [event] };
  },

  async send(ctx, reply: OutboundReply, _idempotencyKey, signal): Promise<SendReceipt> {
    const [channel] = reply.conversation.split(':');
    const body = await slackCall(ctx, 'chat.postMessage', ctx.credentials.botToken, { channel, text: reply.text, ...(reply.thread === undefined ? {} : { thread_ts: reply.thread }) }, signal);
    return { platformMessageId: typeof body['ts'] === 'string' ? body['ts'] : '' };
  },

  connector(ctx, sink) {
    const appToken = ctx.credentials.appToken;
    if (appToken === undefined) throw new AppError('VALIDATION_FAILED', { details: { field: 'credentials.appToken', problem: 'Socket Mode needs an app-level token (xapp-...)' } });
    return new SlackSocketConnector({
      now: ctx.now,
      sink,
      openUrl: async (signal) => String((await slackCall(ctx, 'apps.connections.open', appToken, {}, signal))['url']),
      toEvent: (payload) => slackEvent(payload, ctx.settings),
    });
  },
};
