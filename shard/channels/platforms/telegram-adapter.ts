// Telegram Bot API: webhook deliveries checked by X-Telegram-Bot-Api-Secret-Token, or long polling
// with getUpdates whose offset commits with the events; replies with sendMessage (4,096 chars).
import { z } from 'zod';
import { AppError } from '../../../router/errors/app-error.ts';
import { AccessSettingsSchema } from '../access-policy.ts';
import type { AdapterContext, ChannelAdapter, Connector, ConnectorSink, InboundRequest, InboundResult } from '../channel-adapter.ts';
import type { AttachmentMeta, InboundMessage, OutboundReply, SendReceipt } from '../channel-message.ts';
import type { IngressEvent } from '../channel-queues.ts';
import { ChannelSendError, platformCall } from '../platform-call.ts';
import { parseJsonBody, randomSecret, safeEqual, signatureInvalid } from '../signatures.ts';
import { PollingLoop } from './polling-loop.ts';

export const TelegramCredentialsSchema = z
  .object({
    botToken: z.string().regex(/^\d{1,20}:[A-Za-z0-9_-]{20,100}$/, 'a Telegram bot token looks like 123456:ABC-...'),
    /** setWebhook's secret_token; generated when absent. */
    webhookSecret: z.string().regex(/^[A-Za-z0-9_-]{16,256}$/).optional(),
  })
  .strict();
export type TelegramCredentials = z.infer<typeof TelegramCredentialsSchema>;

export const TelegramSettingsSchema = AccessSettingsSchema.extend({
  mode: z.enum(['polling', 'webhook']).default('polling'),
  /** The bot's @username (without @): a group message naming it counts as a mention. */
  botUsername: z.string().regex(/^[A-Za-z0-9_]{3,64}$/).optional(),
  /** getUpdates long-poll timeout (seconds). */
  pollTimeoutSeconds: z.number().int().min(0).max(50).default(25),
}).strict();
export type TelegramSettings = z.infer<typeof TelegramSettingsSchema>;

const UserSchema = z.object({ id: z.number(), is_bot: z.boolean().optional(), first_name: z.string().optional(), username: z.string().optional() });
const MessageSchema = z.object({
  message_id: z.number(),
  from: UserSchema.optional(),
  chat: z.object({ id: z.number(), type: z.string() }),
  text: z.string().optional(),
  caption: z.string().optional(),
  message_thread_id: z.number().optional(),
  is_topic_message: z.boolean().optional(),
  reply_to_message: z.object({ message_id: z.number(), from: UserSchema.optional() }).optional(),
  entities: z.array(z.object({ type: z.string(), offset: z.number(), length: z.number() })).optional(),
  photo: z.array(z.object({ file_id: z.string(), file_size: z.number().optional() })).optional(),
  document: z.object({ file_id: z.string(), file_name: z.string().optional(), mime_type: z.string().optional(), file_size: z.number().optional() }).optional(),
  voice: z.object({ file_id: z.string(), mime_type: z.string().optional(), file_size: z.number().optional() }).optional(),
  audio: z.object({ file_id: z.string(), mime_type: z.string().optional(), file_size: z.number().optional() }).optional(),
  video: z.object({ file_id: z.string(), mime_type: z.string().optional(), file_size: z.number().optional() }).optional(),
});
export const TelegramUpdateSchema = z.object({ update_id: z.number().int().nonnegative(), message: MessageSchema.optional() });
type TgMessage = z.infer<typeof MessageSchema>;

export const TELEGRAM_MAX_TEXT = 4096;

function attachmentsOf(m: TgMessage): AttachmentMeta[] {
  const out: AttachmentMeta[] = [];
  const photo = m.photo?.at(-1);
  if (photo) out.push({ kind: 'image', id: photo.file_id, ...(photo.file_size === undefined ? {} : { bytes: photo.file_size }) });
  if (m.document) out.push({ kind: 'file', id: m.document.file_id, ...(m.document.file_name ? { name: m.document.file_name } : {}), ...(m.document.mime_type ? { mimeType: m.document.mime_type } : {}) });
  if (m.voice) out.push({ kind: 'audio', id: m.voice.file_id, ...(m.voice.mime_type ? { mimeType: m.voice.mime_type } : {}) });
  if (m.audio) out.push({ kind: 'audio', id: m.audio.file_id, ...(m.audio.mime_type ? { mimeType: m.audio.mime_type } : {}) });
  if (m.video) out.push({ kind: 'video', id: m.video.file_id, ...(m.video.mime_type ? { mimeType: m.video.mime_type } : {}) });
  return out;
}

function mentions(m: TgMessage, text: string, botUsername: string | undefined): boolean {
  if (botUsername === undefined) return text.startsWith('/');
  const handle = `@${botUsername.toLowerCase()}`;
  for (const e of m.entities ?? []) {
    const piece = text.slice(e.offset, e.offset + e.length).toLowerCase();
    if (e.type === 'mention' && piece === handle) return true;
    if (e.type === 'bot_command' && piece.endsWith(handle)) return true;
  }
  return m.reply_to_message?.from?.username?.toLowerCase() === botUsername.toLowerCase();
}

/** A Telegram update as an ingress event; null for updates that carry no message for the bot. */
export function telegramEvent(raw: unknown, settings: TelegramSettings): IngressEvent | null {
  const parsed = TelegramUpdateSchema.safeParse(raw);
  if (!parsed.success) throw new AppError('CHANNEL_PAYLOAD_INVALID', { details: { platform: 'telegram' } });
  const m = parsed.data.message;
  if (m === undefined) return null;
  const text = m.text ?? m.caption ?? '';
  const topic = m.is_topic_message === true && m.message_thread_id !== undefined ? String(m.message_thread_id) : undefined;
  const group = m.chat.type !== 'private';
  const message: InboundMessage = {
    eventId: String(parsed.data.update_id),
    conversation: topic === undefined ? String(m.chat.id) : `${m.chat.id}:${topic}`,
    sender: {
      id: String(m.from?.id ?? m.chat.id),
      ...(m.from?.username ?? m.from?.first_name ? { name: m.from?.username ?? m.from?.first_name } : {}),
      ...(m.from?.is_bot === true ? { isBot: true } : {}),
    },
    text,
    attachments: attachmentsOf(m),
    chatType: group ? 'group' : 'direct',
    mentioned: group ? mentions(m, text, settings.botUsername) : true,
    ...(group ? { replyTo: String(m.message_id) } : {}),
    ...(topic === undefined ? {} : { thread: topic }),
  };
  return { message, raw };
}

function botUrl(ctx: AdapterContext<TelegramCredentials, TelegramSettings>, method: string): string {
  return `${ctx.apiBaseUrl}/bot${ctx.credentials.botToken}/${method}`;
}

interface TgResult {
  ok: boolean;
  result?: unknown;
  error_code?: number;
  description?: string;
  parameters?: { retry_after?: number };
}

/** Calls a Bot API method; an `ok: false` answer is a definite refusal (the platform did not act). */
export async function telegramCall(
  ctx: AdapterContext<TelegramCredentials, TelegramSettings>,
  method: string,
  params: Record<string, unknown>,
  opts: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<unknown> {
  const res = await platformCall(botUrl(ctx, method), {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(params),
    dispatcher: ctx.dispatcher,
    timeoutMs: opts.timeoutMs ?? ctx.platformTimeoutMs,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  const body = (res.body ?? {}) as TgResult;
  if (res.status === 200 && body.ok === true) return body.result;
  const definite = res.status < 500 && typeof body.ok === 'boolean';
  throw new ChannelSendError({
    ambiguous: !definite,
    status: res.status,
    ...(body.description === undefined ? {} : { platformError: body.description }),
    ...(body.parameters?.retry_after === undefined ? {} : { retryAfterSeconds: body.parameters.retry_after }),
  });
}

export const telegramAdapter: ChannelAdapter<TelegramCredentials, TelegramSettings> = {
  platform: 'telegram',
  credentialsSchema: TelegramCredentialsSchema,
  settingsSchema: TelegramSettingsSchema,
  maxTextLength: TELEGRAM_MAX_TEXT,
  // sendMessage has no idempotency key: an ambiguous send is never repeated.
  idempotentSends: false,

  completeCredentials(given) {
    return { ...given, webhookSecret: given.webhookSecret ?? randomSecret(24) };
  },

  publicCredentials() {
    return {};
  },

  usesConnector(settings) {
    return settings.mode === 'polling';
  },

  receive(ctx, req: InboundRequest): InboundResult {
    const secret = ctx.credentials.webhookSecret;
    const given = req.headers['x-telegram-bot-api-secret-token'];
    if (given === undefined || secret === undefined) throw signatureInvalid('missing');
    if (!safeEqual(given, secret)) throw signatureInvalid('mismatch');
    if (ctx.settings.mode !== 'webhook') throw new AppError('CHANNEL_DISABLED', { details: { reason: 'this channel polls; its webhook is off' } });
    const event = telegramEvent(parseJsonBody(req.rawBody), ctx.settings);
    return { response: { status: 200, body: {} }, events: event === null ? [] : [event] };
  },

  async send(ctx, reply: OutboundReply, _idempotencyKey, signal): Promise<SendReceipt> {
    const [chatId] = reply.conversation.split(':');
    const result = (await telegramCall(
      ctx,
      'sendMessage',
      {
        chat_id: Number(chatId),
        text: reply.text,
        ...(reply.thread === undefined ? {} : { message_thread_id: Number(reply.thread) }),
        ...(reply.replyTo === undefined ? {} : { reply_parameters: { message_id: Number(reply.replyTo), allow_sending_without_reply: true } }),
      },
      signal === undefined ? {} : { signal },
    )) as { message_id?: number } | null;
    return { platformMessageId: String(result?.message_id ?? '') };
  },

  async registerWebhook(ctx, url) {
    await telegramCall(ctx, 'setWebhook', { url, secret_token: ctx.credentials.webhookSecret, allowed_updates: ['message'] });
  },

  connector(ctx, sink: ConnectorSink): Connector {
    return new PollingLoop({
      now: ctx.now,
      sink,
      async poll(signal) {
        const cursor = sink.cursor();
        const updates = (await telegramCall(
          ctx,
          'getUpdates',
          { ...(cursor === null ? {} : { offset: Number(cursor) }), timeout: ctx.settings.pollTimeoutSeconds, allowed_updates: ['message'] },
          { signal, timeoutMs: (ctx.settings.pollTimeoutSeconds + 10) * 1000 },
        )) as unknown[];
        if (!Array.isArray(updates) || updates.length === 0) return;
        const events: IngressEvent[] = [];
        let next = cursor === null ? 0 : Number(cursor);
        for (const u of updates) {
          const ev = telegramEvent(u, ctx.settings);
          if (ev !== null) events.push(ev);
          next = Math.max(next, Number((u as { update_id: number }).update_id) + 1);
        }
        sink.ingest(events, String(next));
      },
      classify(err) {
        if (err instanceof ChannelSendError) {
          const status = (err.details?.['status'] as number | undefined) ?? 0;
          if (status === 409) return { stop: 'conflict', detail: 'Telegram answered 409: another getUpdates poller or a webhook uses this bot token; stopped' };
          if (status === 401 || status === 404) return { stop: 'error', detail: 'Telegram refused the bot token; stopped' };
          if (err.retryAfterSeconds !== undefined) return { backoffMs: err.retryAfterSeconds * 1000 };
        }
        return { backoffMs: undefined };
      },
    });
  },
};
