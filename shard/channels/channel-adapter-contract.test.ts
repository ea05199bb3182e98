// Runs the channel adapter contract over every platform and mode, each against its local fake.
import { createHash, createHmac } from 'node:crypto';
import { test } from 'node:test';
import { FakeSlackApi } from '../../test/fakes/fake-slack-api.ts';
import { FakeTelegramApi } from '../../test/fakes/fake-telegram-api.ts';
import { FakeWebhookReceiver } from '../../test/fakes/fake-webhook-receiver.ts';
import type { InboundRequest } from './channel-adapter.ts';
import { channelAdapterContract, type AdapterHarness, type HarnessMessage } from './channel-adapter-contract.ts';
import { slackAdapter, SlackSettingsSchema } from './platforms/slack-adapter.ts';
import { telegramAdapter, TelegramSettingsSchema } from './platforms/telegram-adapter.ts';
import { webchatAdapter, WebchatSettingsSchema } from './platforms/webchat-adapter.ts';
import { webhookAdapter, webhookSignature, WebhookSettingsSchema } from './platforms/webhook-adapter.ts';

const TG_TOKEN = '123456:AAHfakeTokenForContractTests_0123456789';

function req(headers: Record<string, string>, body: unknown, over: Partial<InboundRequest> = {}): InboundRequest {
  return { method: 'POST', subPath: '', headers, query: {}, rawBody: Buffer.from(JSON.stringify(body)), ...over };
}

function tgUpdate(m: HarnessMessage): Record<string, unknown> {
  return { update_id: m.seq, message: { message_id: m.seq, from: { id: m.sender, is_bot: false, first_name: 'U' }, chat: { id: m.conversation, type: 'private' }, date: 1, text: m.text } };
}

async function telegramHarness(mode: 'webhook' | 'polling'): Promise<AdapterHarness> {
  const fake = new FakeTelegramApi();
  await fake.listen();
  fake.addBot(TG_TOKEN);
  const credentials = telegramAdapter.completeCredentials({ botToken: TG_TOKEN });
  const sentUpdates = new Map<number, Record<string, unknown>>();
  return {
    adapter: telegramAdapter,
    credentials,
    settings: TelegramSettingsSchema.parse({ mode, dmPolicy: 'open', pollTimeoutSeconds: 1 }),
    apiBaseUrl: fake.url,
    delivery(m) {
      if (mode === 'webhook') return { kind: 'http', request: req({ 'x-telegram-bot-api-secret-token': credentials.webhookSecret ?? '' }, tgUpdate(m)) };
      return {
        kind: 'push',
        async push() {
          const seen = sentUpdates.get(m.seq);
          if (seen !== undefined) return fake.requeue(TG_TOKEN, seen);
          const { update } = await fake.userSays(TG_TOKEN, { chatId: m.conversation, fromId: m.sender, text: m.text });
          sentUpdates.set(m.seq, update);
        },
      };
    },
    forged(m, kind) {
      if (mode === 'polling') return null;
      return req(kind === 'missing' ? {} : { 'x-telegram-bot-api-secret-token': 'wrong-secret-value-123456' }, tgUpdate(m));
    },
    replies: () => fake.sent(TG_TOKEN).map((s) => ({ conversation: String(s.chat.id), text: s.text })),
    close: () => fake.close(),
  };
}

async function slackHarness(mode: 'events' | 'socket'): Promise<AdapterHarness> {
  const fake = new FakeSlackApi();
  await fake.listen();
  const credentials = { botToken: 'xoxb-1111-2222-fakebottoken', signingSecret: 'ab'.repeat(16), appToken: 'xapp-1-A0001-3333-fakeapptoken' };
  fake.botTokens.add(credentials.botToken);
  fake.appTokens.add(credentials.appToken);
  const envelopes = new Map<number, Record<string, unknown>>();
  const body = (m: HarnessMessage): Record<string, unknown> => {
    let b = envelopes.get(m.seq);
    if (b === undefined) {
      b = fake.eventCallback({ channel: `D${m.conversation}`, user: `U${m.sender}`, text: m.text, ts: `${1_700_000_000 + m.seq}.000100` });
      envelopes.set(m.seq, b);
    }
    return b;
  };
  const signed = (b: unknown, secret: string): Record<string, string> => {
    const ts = Math.floor(Date.now() / 1000);
    return { 'x-slack-request-timestamp': String(ts), 'x-slack-signature': `v0=${createHmac('sha256', secret).update(`v0:${ts}:${JSON.stringify(b)}`).digest('hex')}` };
  };
  return {
    adapter: slackAdapter,
    credentials,
    settings: SlackSettingsSchema.parse({ mode, dmPolicy: 'open' }),
    apiBaseUrl: fake.apiBase,
    delivery(m) {
      const b = body(m);
      if (mode === 'events') return { kind: 'http', request: req(signed(b, credentials.signingSecret), b) };
      return {
        kind: 'push',
        async push() {
          await fake.socketEvent(b);
        },
      };
    },
    forged(m, kind) {
      if (mode === 'socket') return null;
      const b = body(m);
      const h = signed(b, 'cd'.repeat(16));
      if (kind === 'missing') delete h['x-slack-signature'];
      return req(h, b);
    },
    replies: () => fake.posts.map((p) => ({ conversation: p.thread_ts === undefined ? p.channel : `${p.channel}:${p.thread_ts}`, text: p.text })),
    close: () => fake.close(),
  };
}

async function webchatHarness(): Promise<AdapterHarness> {
  const credentials = webchatAdapter.completeCredentials({});
  const token = (c: number): string => createHash('sha256').update(String(c)).digest('hex').slice(0, 32);
  const body = (m: HarnessMessage) => ({ visitorToken: token(m.conversation), messageId: `msg-${String(m.seq).padStart(6, '0')}`, text: m.text });
  return {
    adapter: webchatAdapter,
    credentials,
    settings: WebchatSettingsSchema.parse({}),
    apiBaseUrl: '',
    delivery: (m) => ({ kind: 'http', request: req({ 'x-openclawmu-publishable-key': credentials.publishableKey ?? '' }, body(m)) }),
    forged: (m, kind) => req(kind === 'missing' ? {} : { 'x-openclawmu-publishable-key': `pk_${'0'.repeat(32)}` }, body(m)),
    replies(queues, channel) {
      const out: { conversation: string; text: string }[] = [];
      for (const c of [1001]) {
        const conv = `v-${createHash('sha256').update(token(c)).digest('hex').slice(0, 32)}`;
        for (const r of queues.outbox(channel, conv, 0, 1000)) out.push({ conversation: conv, text: r.text });
      }
      return out;
    },
    close: () => Promise.resolve(),
  };
}

async function webhookHarness(): Promise<AdapterHarness> {
  const credentials = webhookAdapter.completeCredentials({});
  const receiver = new FakeWebhookReceiver(() => credentials.signingSecret);
  await receiver.listen();
  const body = (m: HarnessMessage) => ({ id: `evt-${m.seq}`, conversation: `conv-${m.conversation}`, sender: { id: `user-${m.sender}` }, text: m.text });
  const signed = (b: unknown, secret: string): Record<string, string> => {
    const ts = Math.floor(Date.now() / 1000);
    return { 'x-openclawmu-timestamp': String(ts), 'x-openclawmu-signature': webhookSignature(secret, ts, JSON.stringify(b)) };
  };
  return {
    adapter: webhookAdapter,
    credentials,
    settings: WebhookSettingsSchema.parse({ callbackUrl: receiver.url }),
    apiBaseUrl: '',
    delivery: (m) => ({ kind: 'http', request: req(signed(body(m), credentials.signingSecret ?? ''), body(m)) }),
    forged(m, kind) {
      const h = signed(body(m), 'x'.repeat(40));
      if (kind === 'missing') delete h['x-openclawmu-signature'];
      return req(h, body(m));
    },
    replies: () => [...receiver.unique.values()].filter((r) => r.signatureValid).map((r) => ({ conversation: r.body.conversation, text: r.body.text })),
    close: () => receiver.close(),
  };
}

void test('contract: telegram (webhook)', (t) => channelAdapterContract(t, () => telegramHarness('webhook'), { connector: false }));
void test('contract: telegram (long polling)', (t) => channelAdapterContract(t, () => telegramHarness('polling'), { connector: true }));
void test('contract: slack (Events API)', (t) => channelAdapterContract(t, () => slackHarness('events'), { connector: false }));
void test('contract: slack (Socket Mode)', (t) => channelAdapterContract(t, () => slackHarness('socket'), { connector: true }));
void test('contract: webchat', (t) => channelAdapterContract(t, webchatHarness, { connector: false }));
void test('contract: signed webhook', (t) => channelAdapterContract(t, webhookHarness, { connector: false }));
