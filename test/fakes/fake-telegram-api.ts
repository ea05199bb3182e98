// A fake Telegram Bot API on a real local HTTP server, speaking the real wire format: /bot<token>/<method>,
// `{ok, result}` / `{ok:false, error_code, description}`, getUpdates long polling with offset confirmation
// (a second concurrent poller terminates the first with 409, as Telegram does), setWebhook with
// secret_token and webhook delivery with X-Telegram-Bot-Api-Secret-Token, sendMessage's 4,096 limit.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';

export interface FakeTgMessage {
  message_id: number;
  chat: { id: number; type: string };
  text: string;
  message_thread_id?: number;
  reply_parameters?: { message_id: number };
}

interface Poll {
  res: ServerResponse;
  timer: NodeJS.Timeout;
  offset: number;
}

interface Bot {
  id: number;
  username: string;
  updates: Record<string, unknown>[];
  /** Served once more regardless of the offset (a replay). */
  replays: Record<string, unknown>[];
  nextUpdateId: number;
  nextMessageId: number;
  webhook: { url: string; secret: string | undefined } | null;
  sent: FakeTgMessage[];
  poll: Poll | null;
  pollsInFlight: number;
  maxConcurrentPolls: number;
  conflicts: number;
  /** Record the next N sendMessage calls, then destroy the socket before answering (an ambiguous send). */
  dropAfterSend: number;
}

export interface IncomingText {
  chatId: number;
  text: string;
  fromId?: number;
  username?: string;
  chatType?: 'private' | 'group' | 'supergroup';
  entities?: { type: string; offset: number; length: number }[];
  threadId?: number;
}

export class FakeTelegramApi {
  url = '';
  private server: Server | undefined;
  private readonly bots = new Map<string, Bot>();

  async listen(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server?.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const b of this.bots.values()) this.endPoll(b, { ok: true, result: [] });
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  addBot(token: string, username = 'fake_bot'): void {
    const id = Number(token.split(':')[0]);
    this.bots.set(token, { id, username, updates: [], replays: [], nextUpdateId: 100, nextMessageId: 1, webhook: null, sent: [], poll: null, pollsInFlight: 0, maxConcurrentPolls: 0, conflicts: 0, dropAfterSend: 0 });
  }

  bot(token: string): Bot {
    const b = this.bots.get(token);
    if (b === undefined) throw new Error('unknown fake bot');
    return b;
  }

  sent(token: string): FakeTgMessage[] {
    return this.bot(token).sent;
  }

  /** A user's text message as an Update: queued for getUpdates, or POSTed to the webhook when one is set. */
  async userSays(token: string, m: IncomingText): Promise<{ update: Record<string, unknown>; webhookStatus?: number }> {
    const b = this.bot(token);
    const chatType = m.chatType ?? 'private';
    const update = {
      update_id: b.nextUpdateId++,
      message: {
        message_id: b.nextMessageId++,
        from: { id: m.fromId ?? m.chatId, is_bot: false, first_name: 'User', ...(m.username ? { username: m.username } : {}) },
        chat: { id: m.chatId, type: chatType },
        date: 1_700_000_000,
        text: m.text,
        ...(m.entities ? { entities: m.entities } : {}),
        ...(m.threadId === undefined ? {} : { message_thread_id: m.threadId, is_topic_message: true }),
      },
    };
    if (b.webhook !== null) return { update, webhookStatus: await this.deliver(token, update) };
    b.updates.push(update);
    if (b.poll !== null) this.answerPoll(b);
    return { update };
  }

  /** Serves an update again (what a poller sees when its offset commit was lost). */
  requeue(token: string, update: Record<string, unknown>): void {
    const b = this.bot(token);
    b.replays.push(update);
    if (b.poll !== null) this.answerPoll(b);
  }

  /** POSTs an update to the bot's webhook as Telegram does (with the secret header); returns the HTTP status. */
  async deliver(token: string, update: Record<string, unknown>, secretOverride?: string | null): Promise<number> {
    const b = this.bot(token);
    if (b.webhook === null) throw new Error('no webhook set');
    const secret = secretOverride === undefined ? b.webhook.secret : secretOverride;
    const res = await request(b.webhook.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(secret == null ? {} : { 'x-telegram-bot-api-secret-token': secret }) },
      body: JSON.stringify(update),
    });
    await res.body.dump();
    return res.statusCode;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const m = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(url.pathname);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (m === null) return reply(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
    const b = this.bots.get(decodeURIComponent(m[1] ?? ''));
    if (b === undefined) return reply(res, 401, { ok: false, error_code: 401, description: 'Unauthorized' });
    const raw = Buffer.concat(chunks).toString('utf8');
    const params: Record<string, unknown> = raw === '' ? Object.fromEntries(url.searchParams) : (JSON.parse(raw) as Record<string, unknown>);
    switch (m[2] ?? '') {
      case 'getMe':
        return reply(res, 200, { ok: true, result: { id: b.id, is_bot: true, first_name: 'Fake', username: b.username } });
      case 'setWebhook':
        b.webhook = String(params['url'] ?? '') === '' ? null : { url: String(params['url']), secret: params['secret_token'] as string | undefined };
        return reply(res, 200, { ok: true, result: true, description: 'Webhook was set' });
      case 'deleteWebhook':
        b.webhook = null;
        return reply(res, 200, { ok: true, result: true, description: 'Webhook was deleted' });
      case 'getUpdates':
        return this.getUpdates(b, params, res);
      case 'sendMessage':
        return this.sendMessage(b, params, res);
      default:
        return reply(res, 404, { ok: false, error_code: 404, description: 'Not Found: method not found' });
    }
  }

  private getUpdates(b: Bot, params: Record<string, unknown>, res: ServerResponse): void {
    if (b.webhook !== null) {
      return reply(res, 409, { ok: false, error_code: 409, description: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first" });
    }
    if (b.poll !== null) {
      b.conflicts++;
      this.endPoll(b, { ok: false, error_code: 409, description: 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running' }, 409);
    }
    const offset = Number(params['offset'] ?? 0);
    if (offset > 0) b.updates = b.updates.filter((u) => Number(u['update_id']) >= offset);
    b.pollsInFlight++;
    b.maxConcurrentPolls = Math.max(b.maxConcurrentPolls, b.pollsInFlight);
    res.on('close', () => {
      if (b.poll?.res === res) {
        clearTimeout(b.poll.timer);
        b.poll = null;
      }
    });
    const timeoutS = Number(params['timeout'] ?? 0);
    b.poll = { res, offset, timer: setTimeout(() => this.endPoll(b, { ok: true, result: [] }), timeoutS * 1000) };
    if (b.updates.length > 0 || b.replays.length > 0 || timeoutS === 0) this.answerPoll(b);
  }

  private answerPoll(b: Bot): void {
    const replays = b.replays.splice(0);
    this.endPoll(b, { ok: true, result: [...replays, ...b.updates].slice(0, 100) });
  }

  private endPoll(b: Bot, body: unknown, status = 200): void {
    const p = b.poll;
    if (p === null) return;
    b.poll = null;
    clearTimeout(p.timer);
    b.pollsInFlight--;
    reply(p.res, status, body);
  }

  private sendMessage(b: Bot, params: Record<string, unknown>, res: ServerResponse): void {
    const text = typeof params['text'] === 'string' ? params['text'] : '';
    if (params['chat_id'] === undefined) return reply(res, 400, { ok: false, error_code: 400, description: 'Bad Request: chat_id is empty' });
    if (text.length === 0) return reply(res, 400, { ok: false, error_code: 400, description: 'Bad Request: message text is empty' });
    if (text.length > 4096) return reply(res, 400, { ok: false, error_code: 400, description: 'Bad Request: message is too long' });
    const chatId = Number(params['chat_id']);
    const msg: FakeTgMessage = {
      message_id: b.nextMessageId++,
      chat: { id: chatId, type: chatId < 0 ? 'supergroup' : 'private' },
      text,
      ...(params['message_thread_id'] === undefined ? {} : { message_thread_id: Number(params['message_thread_id']) }),
      ...(params['reply_parameters'] === undefined ? {} : { reply_parameters: params['reply_parameters'] as { message_id: number } }),
    };
    b.sent.push(msg);
    if (b.dropAfterSend > 0) {
      b.dropAfterSend--;
      res.socket?.destroy();
      return;
    }
    reply(res, 200, { ok: true, result: { ...msg, from: { id: b.id, is_bot: true, first_name: 'Fake', username: b.username }, date: 1_700_000_000 } });
  }
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  if (res.writableEnded || res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
