// A fake Slack on a real local HTTP server: the Web API (`/api/<method>`, Bearer tokens, `{ok, ...}` /
// `{ok:false, error}`), Socket Mode (apps.connections.open → a WebSocket that says hello, pushes
// events_api envelopes and expects `{envelope_id}` acks), and Events API deliveries signed with v0 HMAC.
import { createHmac, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import WebSocket, { WebSocketServer } from 'ws';

export interface FakeSlackPost {
  channel: string;
  text: string;
  thread_ts?: string;
  ts: string;
}

export interface SlackMessageEvent {
  channel: string;
  user: string;
  text: string;
  ts?: string;
  thread_ts?: string;
  channel_type?: 'im' | 'channel' | 'group' | 'mpim';
  type?: 'message' | 'app_mention';
}

export class FakeSlackApi {
  url = '';
  /** The Web API base an adapter is given (`<url>/api`). */
  apiBase = '';
  readonly posts: FakeSlackPost[] = [];
  readonly acks: string[] = [];
  botTokens = new Set<string>();
  appTokens = new Set<string>();
  connectionsOpened = 0;
  private server: Server | undefined;
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly sockets = new Set<WebSocket>();
  private readonly tickets = new Set<string>();
  private readonly ackWaiters = new Map<string, () => void>();
  private tsCounter = 1_800_000_000;
  private eventCounter = 1;

  async listen(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('upgrade', (req, socket, head) => {
      const u = new URL(req.url ?? '/', 'http://x');
      const ticket = u.searchParams.get('ticket') ?? '';
      if (u.pathname !== '/link' || !this.tickets.delete(ticket)) {
        socket.destroy();
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.onSocket(ws));
    });
    await new Promise<void>((r) => this.server?.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    this.apiBase = `${this.url}/api`;
  }

  async close(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    this.wss.close();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  openSockets(): number {
    return [...this.sockets].filter((s) => s.readyState === WebSocket.OPEN).length;
  }

  /** An event_callback body as Slack sends it for a message. */
  eventCallback(m: SlackMessageEvent, eventId = `Ev${String(this.eventCounter++).padStart(8, '0')}`): Record<string, unknown> {
    return {
      token: 'verification-token-unused',
      team_id: 'T0001',
      api_app_id: 'A0001',
      type: 'event_callback',
      event_id: eventId,
      event_time: 1_700_000_000,
      event: { type: m.type ?? 'message', channel: m.channel, user: m.user, text: m.text, ts: m.ts ?? `${this.tsCounter++}.000100`, channel_type: m.channel_type ?? 'im', ...(m.thread_ts ? { thread_ts: m.thread_ts } : {}) },
    };
  }

  /** POSTs an Events API delivery signed as Slack signs it (optionally a retry, a stale or a wrong signature). */
  async deliverEvent(
    url: string,
    signingSecret: string,
    body: Record<string, unknown>,
    opts: { retryNum?: number; timestampSeconds?: number; signature?: string | null } = {},
  ): Promise<{ status: number; body: string }> {
    const raw = JSON.stringify(body);
    const ts = opts.timestampSeconds ?? Math.floor(Date.now() / 1000);
    const sig = `v0=${createHmac('sha256', signingSecret).update(`v0:${ts}:${raw}`).digest('hex')}`;
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-slack-request-timestamp': String(ts) };
    if (opts.signature !== null) headers['x-slack-signature'] = opts.signature ?? sig;
    if (opts.retryNum !== undefined) {
      headers['x-slack-retry-num'] = String(opts.retryNum);
      headers['x-slack-retry-reason'] = 'http_timeout';
    }
    const res = await request(url, { method: 'POST', headers, body: raw });
    return { status: res.statusCode, body: await res.body.text() };
  }

  /** Pushes an events_api envelope to the open Socket Mode connection; resolves when it is acked. */
  socketEvent(payload: Record<string, unknown>, envelopeId: string = randomUUID(), retryAttempt = 0): Promise<string> {
    const ws = [...this.sockets].find((s) => s.readyState === WebSocket.OPEN);
    if (ws === undefined) return Promise.reject(new Error('no open Socket Mode connection'));
    const acked = new Promise<string>((resolve) => this.ackWaiters.set(envelopeId, () => resolve(envelopeId)));
    ws.send(JSON.stringify({ envelope_id: envelopeId, type: 'events_api', payload, accepts_response_payload: false, retry_attempt: retryAttempt, retry_reason: retryAttempt > 0 ? 'timeout' : '' }));
    return acked;
  }

  /** Asks every socket to reconnect, as Slack does before it rotates a connection. */
  disconnectAll(): void {
    for (const ws of this.sockets) ws.send(JSON.stringify({ type: 'disconnect', reason: 'refresh_requested', debug_info: { host: 'fake' } }));
  }

  private onSocket(ws: WebSocket): void {
    this.sockets.add(ws);
    ws.on('close', () => this.sockets.delete(ws));
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as { envelope_id?: string };
      if (typeof frame.envelope_id === 'string') {
        this.acks.push(frame.envelope_id);
        this.ackWaiters.get(frame.envelope_id)?.();
        this.ackWaiters.delete(frame.envelope_id);
      }
    });
    ws.send(JSON.stringify({ type: 'hello', num_connections: this.sockets.size, debug_info: { host: 'fake', approximate_connection_time: 18060 }, connection_info: { app_id: 'A0001' } }));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://x');
    const method = url.pathname.replace(/^\/api\//, '');
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    const ctype = req.headers['content-type'] ?? '';
    const params: Record<string, unknown> = raw === '' ? {} : ctype.startsWith('application/json') ? (JSON.parse(raw) as Record<string, unknown>) : Object.fromEntries(new URLSearchParams(raw));
    switch (method) {
      case 'apps.connections.open': {
        if (!this.appTokens.has(token)) return json(res, 200, { ok: false, error: token.startsWith('xoxb-') ? 'not_allowed_token_type' : 'invalid_auth' });
        this.connectionsOpened++;
        const ticket = randomUUID();
        this.tickets.add(ticket);
        return json(res, 200, { ok: true, url: `${this.url.replace(/^http/, 'ws')}/link?ticket=${ticket}` });
      }
      case 'chat.postMessage': {
        if (!this.botTokens.has(token)) return json(res, 200, { ok: false, error: 'invalid_auth' });
        const channel = typeof params['channel'] === 'string' ? params['channel'] : '';
        const text = typeof params['text'] === 'string' ? params['text'] : '';
        if (channel === '') return json(res, 200, { ok: false, error: 'channel_not_found' });
        if (text === '') return json(res, 200, { ok: false, error: 'no_text' });
        if (text.length > 40_000) return json(res, 200, { ok: false, error: 'msg_too_long' });
        const ts = `${this.tsCounter++}.000200`;
        const post: FakeSlackPost = { channel, text, ts, ...(typeof params['thread_ts'] === 'string' ? { thread_ts: params['thread_ts'] } : {}) };
        this.posts.push(post);
        return json(res, 200, { ok: true, channel, ts, message: { type: 'message', text, ts, bot_id: 'B0001' } });
      }
      case 'auth.test':
        if (!this.botTokens.has(token)) return json(res, 200, { ok: false, error: 'invalid_auth' });
        return json(res, 200, { ok: true, team_id: 'T0001', user_id: 'UBOT0001', bot_id: 'B0001' });
      default:
        return json(res, 404, { ok: false, error: 'unknown_method' });
    }
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
}
