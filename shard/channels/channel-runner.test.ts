// The channel runner against the platform fakes: pairing, ambiguous sends, 409 from a second poller,
// Socket Mode reconnects and acks, the SSRF guard on webhook callbacks.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { Agent, type Dispatcher } from 'undici';
import { FakeSlackApi } from '../../test/fakes/fake-slack-api.ts';
import { FakeTelegramApi } from '../../test/fakes/fake-telegram-api.ts';
import { FakeWebhookReceiver } from '../../test/fakes/fake-webhook-receiver.ts';
import { AppError } from '../../router/errors/app-error.ts';
import { createGuardedAgent } from '../ai/providers/ssrf-agent.ts';
import type { AccessSettings } from './access-policy.ts';
import type { AnyChannelAdapter } from './channel-adapter.ts';
import { waitFor } from './channel-adapter-contract.ts';
import { ChannelQueues } from './channel-queues.ts';
import { ChannelRunner } from './channel-runner.ts';
import { ConversationLanes } from './conversation-lanes.ts';
import { PairingStore } from './pairing-store.ts';
import { slackAdapter, SlackSettingsSchema } from './platforms/slack-adapter.ts';
import { telegramAdapter, TelegramSettingsSchema } from './platforms/telegram-adapter.ts';
import { webhookAdapter, webhookSignature, WebhookSettingsSchema } from './platforms/webhook-adapter.ts';
import { openChannelTestDb } from './test-support/channel-db.ts';

const TOKEN = '987654:AAHfakeTokenForRunnerTests_abcdefghij';

function setup(t: TestContext, adapter: AnyChannelAdapter, credentials: unknown, settings: AccessSettings, apiBaseUrl: string, dispatcher: Dispatcher = new Agent()) {
  const db = openChannelTestDb();
  const queues = new ChannelQueues(db.db, Date.now);
  const pairing = new PairingStore(db.db, Date.now);
  const runner = new ChannelRunner({
    tenant: 'acme',
    name: 'main',
    adapter,
    ctx: { tenant: 'acme', channel: 'main', credentials, settings, apiBaseUrl, dispatcher, now: Date.now, platformTimeoutMs: 3000 },
    queues,
    pairing,
    lanes: new ConversationLanes(),
    runTurn: ({ text }) => Promise.resolve(`echo: ${text}`),
    sleep: () => Promise.resolve(),
  });
  t.after(async () => {
    await runner.stop();
    await dispatcher.close();
    db.close();
  });
  return { runner, queues, pairing };
}

void test('pairing: an unknown sender gets a code, no answer; after approval the next message is answered', async (t) => {
  const fake = new FakeTelegramApi();
  await fake.listen();
  t.after(() => fake.close());
  fake.addBot(TOKEN);
  const creds = telegramAdapter.completeCredentials({ botToken: TOKEN });
  const { runner, queues, pairing } = setup(t, telegramAdapter, creds, TelegramSettingsSchema.parse({ mode: 'polling', pollTimeoutSeconds: 1 }), fake.url);
  runner.startConnector();
  await fake.userSays(TOKEN, { chatId: 42, text: 'hi bot' });
  await waitFor(() => queues.counts('main').skipped === 1, 'the pairing answer');
  const [req] = pairing.list('main');
  assert.ok(req !== undefined);
  assert.match(fake.sent(TOKEN)[0]?.text ?? '', new RegExp(`pairing code is ${req.code}`));
  await fake.userSays(TOKEN, { chatId: 42, text: 'hello?' });
  await waitFor(() => queues.counts('main').skipped === 2, 'a second message while pending');
  assert.equal(fake.sent(TOKEN).length, 1, 'the code is sent once, not on every message');
  assert.equal(pairing.approve('main', req.code)?.sender, '42');
  await fake.userSays(TOKEN, { chatId: 42, text: 'now?' });
  await waitFor(() => queues.counts('main').done === 1, 'the answer after approval');
  assert.equal(fake.sent(TOKEN).at(-1)?.text, 'echo: now?');
});

void test('telegram: a send whose answer is lost is unknown_after_send and never resent', async (t) => {
  const fake = new FakeTelegramApi();
  await fake.listen();
  t.after(() => fake.close());
  fake.addBot(TOKEN);
  fake.bot(TOKEN).dropAfterSend = 1;
  const creds = telegramAdapter.completeCredentials({ botToken: TOKEN });
  const { runner, queues } = setup(t, telegramAdapter, creds, TelegramSettingsSchema.parse({ mode: 'polling', dmPolicy: 'open', pollTimeoutSeconds: 1 }), fake.url);
  runner.startConnector();
  await fake.userSays(TOKEN, { chatId: 7, text: 'x' });
  await waitFor(() => queues.counts('main').failed === 1, 'the ambiguous event');
  assert.equal(queues.counts('main').unknownAfterSend, 1);
  assert.equal(fake.sent(TOKEN).length, 1, 'the platform got it once; we did not retry');
  runner.resume();
  await runner.idle();
  assert.equal(fake.sent(TOKEN).length, 1);
});

void test('telegram: a second poller on the token makes Telegram answer 409; the connector stops with a clear status', async (t) => {
  const fake = new FakeTelegramApi();
  await fake.listen();
  t.after(() => fake.close());
  fake.addBot(TOKEN);
  const creds = telegramAdapter.completeCredentials({ botToken: TOKEN });
  const settings = TelegramSettingsSchema.parse({ mode: 'polling', dmPolicy: 'open', pollTimeoutSeconds: 5 });
  const a = setup(t, telegramAdapter, creds, settings, fake.url);
  const b = setup(t, telegramAdapter, creds, settings, fake.url);
  a.runner.startConnector();
  await waitFor(() => fake.bot(TOKEN).pollsInFlight === 1, 'the first poll');
  b.runner.startConnector();
  await waitFor(() => a.runner.connectorStatus()?.state === 'conflict', 'the conflict status');
  assert.match(a.runner.connectorStatus()?.detail ?? '', /409/);
  await b.runner.stopConnector();
  assert.equal(fake.bot(TOKEN).maxConcurrentPolls, 1, 'the fake never served two polls at once');
});

void test('telegram: getUpdates while a webhook is set is a conflict, not a retry loop', async (t) => {
  const fake = new FakeTelegramApi();
  await fake.listen();
  t.after(() => fake.close());
  fake.addBot(TOKEN);
  const creds = telegramAdapter.completeCredentials({ botToken: TOKEN });
  const { runner } = setup(t, telegramAdapter, creds, TelegramSettingsSchema.parse({ mode: 'webhook', dmPolicy: 'open' }), fake.url);
  await telegramAdapter.registerWebhook?.({ tenant: 'acme', channel: 'main', credentials: creds, settings: TelegramSettingsSchema.parse({ mode: 'webhook' }), apiBaseUrl: fake.url, dispatcher: new Agent(), now: Date.now, platformTimeoutMs: 3000 }, 'http://127.0.0.1:1/hooks/acme/main');
  assert.equal(fake.bot(TOKEN).webhook?.secret, creds.webhookSecret);
  const poller = setup(t, telegramAdapter, creds, TelegramSettingsSchema.parse({ mode: 'polling', dmPolicy: 'open', pollTimeoutSeconds: 1 }), fake.url);
  poller.runner.startConnector();
  await waitFor(() => poller.runner.connectorStatus()?.state === 'conflict', 'conflict');
  assert.equal(runner.connectorStatus(), null, 'webhook mode runs no connector');
});

void test('slack socket mode: acks after storing, reconnects on disconnect, threads replies', async (t) => {
  const fake = new FakeSlackApi();
  await fake.listen();
  t.after(() => fake.close());
  const creds = { botToken: 'xoxb-1-2-runner', appToken: 'xapp-1-A1-runner-token' };
  fake.botTokens.add(creds.botToken);
  fake.appTokens.add(creds.appToken);
  const { runner, queues } = setup(t, slackAdapter, creds, SlackSettingsSchema.parse({ mode: 'socket', botUserId: 'UBOT0001' }), fake.apiBase);
  runner.startConnector();
  await waitFor(() => runner.connectorStatus()?.state === 'running', 'hello');
  const payload = fake.eventCallback({ channel: 'C1', user: 'U9', text: '<@UBOT0001> help', channel_type: 'channel', ts: '1700000001.000100', thread_ts: '1700000000.000100' });
  const envelope = await fake.socketEvent(payload);
  assert.deepEqual(fake.acks, [envelope]);
  assert.equal(queues.pending('main').length + queues.counts('main').done + queues.counts('main').skipped, 1, 'stored before the ack');
  await waitFor(() => fake.posts.length === 1, 'the reply');
  assert.equal(fake.posts[0]?.thread_ts, '1700000000.000100');
  // a channel message without a mention is not answered
  await fake.socketEvent(fake.eventCallback({ channel: 'C1', user: 'U9', text: 'chatter', channel_type: 'channel', ts: '1700000002.000100' }));
  fake.disconnectAll();
  await waitFor(() => fake.connectionsOpened === 2 && runner.connectorStatus()?.state === 'running', 'the reconnect');
  await fake.socketEvent(payload, 'redelivered-envelope', 1);
  await runner.idle();
  assert.equal(fake.posts.length, 1, 'a redelivered envelope is not answered twice');
  assert.equal(queues.counts('main').skipped, 1, JSON.stringify(queues.counts('main')));
});

void test('slack: a wrong app-level token stops the connector with an error status', async (t) => {
  const fake = new FakeSlackApi();
  await fake.listen();
  t.after(() => fake.close());
  const { runner } = setup(t, slackAdapter, { botToken: 'xoxb-1-2-runner', appToken: 'xapp-1-A1-not-known' }, SlackSettingsSchema.parse({ mode: 'socket' }), fake.apiBase);
  runner.startConnector();
  await waitFor(() => runner.connectorStatus()?.state === 'error', 'the error status');
  assert.match(runner.connectorStatus()?.detail ?? '', /invalid_auth/);
});

void test('signed webhook: a callback to a private address is refused at connect time by the SSRF guard', async (t) => {
  const creds = webhookAdapter.completeCredentials({});
  const receiver = new FakeWebhookReceiver(() => creds.signingSecret);
  await receiver.listen();
  t.after(() => receiver.close());
  const guarded = createGuardedAgent({ allowPrivateNetwork: false, connectTimeoutMs: 2000 });
  const { runner, queues } = setup(t, webhookAdapter, creds, WebhookSettingsSchema.parse({ callbackUrl: receiver.url }), '', guarded);
  const body = JSON.stringify({ id: 'e1', conversation: 'c', sender: { id: 's' }, text: 'hi' });
  const ts = Math.floor(Date.now() / 1000);
  runner.receive({ method: 'POST', subPath: '', query: {}, rawBody: Buffer.from(body), headers: { 'x-openclawmu-timestamp': String(ts), 'x-openclawmu-signature': webhookSignature(creds.signingSecret ?? '', ts, body) } });
  await runner.idle();
  assert.equal(receiver.received.length, 0);
  assert.equal(queues.counts('main').sendFailed, 1);
});

void test('signed webhook: a stale timestamp is refused even with a valid signature', (t) => {
  const creds = webhookAdapter.completeCredentials({});
  const { runner, queues } = setup(t, webhookAdapter, creds, WebhookSettingsSchema.parse({ callbackUrl: 'https://example.invalid/cb' }), '');
  const body = JSON.stringify({ id: 'e1', conversation: 'c', sender: { id: 's' }, text: 'hi' });
  const ts = Math.floor(Date.now() / 1000) - 301;
  assert.throws(() => runner.receive({ method: 'POST', subPath: '', query: {}, rawBody: Buffer.from(body), headers: { 'x-openclawmu-timestamp': String(ts), 'x-openclawmu-signature': webhookSignature(creds.signingSecret ?? '', ts, body) } }), /not signed/);
  assert.equal(queues.pending('main').length, 0);
});

void test('a turn refused because the tenant is frozen leaves the event pending; it is answered once on resume', async (t) => {
  const creds = webhookAdapter.completeCredentials({});
  const receiver = new FakeWebhookReceiver(() => creds.signingSecret);
  await receiver.listen();
  t.after(() => receiver.close());
  const db = openChannelTestDb();
  const dispatcher = new Agent();
  t.after(async () => {
    await dispatcher.close();
    db.close();
  });
  const queues = new ChannelQueues(db.db, Date.now);
  let frozen = true;
  const runner = (): ChannelRunner =>
    new ChannelRunner({
      tenant: 'acme',
      name: 'main',
      adapter: webhookAdapter,
      ctx: { tenant: 'acme', channel: 'main', credentials: creds, settings: WebhookSettingsSchema.parse({ callbackUrl: receiver.url }), apiBaseUrl: '', dispatcher, now: Date.now, platformTimeoutMs: 3000 },
      queues,
      pairing: new PairingStore(db.db, Date.now),
      lanes: new ConversationLanes(),
      runTurn: ({ text }) => (frozen ? Promise.reject(new AppError('SHARD_TENANT_FROZEN')) : Promise.resolve(`echo: ${text}`)),
      sleep: () => Promise.resolve(),
    });
  const before = runner();
  const body = JSON.stringify({ id: 'f1', conversation: 'c', sender: { id: 's' }, text: 'during the freeze' });
  const ts = Math.floor(Date.now() / 1000);
  before.receive({ method: 'POST', subPath: '', query: {}, rawBody: Buffer.from(body), headers: { 'x-openclawmu-timestamp': String(ts), 'x-openclawmu-signature': webhookSignature(creds.signingSecret ?? '', ts, body) } });
  await before.idle();
  assert.equal(queues.counts('main').pending, 1);
  await before.stop();
  frozen = false;
  const after = runner();
  after.resume();
  await after.idle();
  assert.equal(queues.counts('main').done, 1);
  assert.deepEqual([...receiver.unique.values()].map((r) => r.body.text), ['echo: during the freeze']);
});
