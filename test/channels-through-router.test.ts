// Channels end to end through the router with the echo model: Telegram and Slack fakes speak the real
// wire formats; signatures, replays, pairing, cross-tenant injection and the backup archive (issue 12).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { zstdDecompressCapped } from '../shard/snapshot/zstd-stream.ts';
import { waitFor } from '../shard/channels/channel-adapter-contract.ts';
import { FakeSlackApi } from './fakes/fake-slack-api.ts';
import { FakeTelegramApi } from './fakes/fake-telegram-api.ts';
import { startTestFleet, type TestFleet } from './helpers/fleet-fixture.ts';

const TG_A = '111111:AAHtenantAlphaBotToken_secret_0123456789';
const TG_B = '222222:AAHtenantBravoBotToken_secret_9876543210';
const SECRET_A = 'alpha-webhook-secret-0123456789';
const SECRET_B = 'bravo-webhook-secret-9876543210';

async function rpc(fleet: TestFleet, token: string, method: string, params: unknown = {}): Promise<Record<string, unknown>> {
  const res = await fleet.rpc(token, { jsonrpc: '2.0', id: 1, method, params });
  const body = (await res.json()) as { result?: Record<string, unknown>; error?: unknown };
  if (body.error !== undefined) throw new Error(`${method}: ${JSON.stringify(body.error)}`);
  return body.result ?? {};
}

async function tenant(fleet: TestFleet, id: string): Promise<string> {
  const res = await fleet.admin('/v1/tenants', { body: { id } });
  assert.equal(res.status, 201, await res.clone().text());
  return ((await res.json()) as { token: string }).token;
}

function hook(fleet: TestFleet, path: string, body: unknown, headers: Record<string, string>): Promise<Response> {
  return fetch(`${fleet.router.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

async function fleetWithFakes(t: Parameters<typeof startTestFleet>[0]) {
  const tg = new FakeTelegramApi();
  await tg.listen();
  t.after(() => tg.close());
  const slack = new FakeSlackApi();
  await slack.listen();
  t.after(() => slack.close());
  const sealKey = randomBytes(32).toString('base64');
  const fleet = await startTestFleet(t, {
    shards: 2,
    shardConfig: { features: { channels: { sealKeys: [{ id: 'k1', key: sealKey }], telegram: { apiBaseUrl: tg.url }, slack: { apiBaseUrl: slack.apiBase } } } },
  });
  return { tg, slack, fleet };
}

test('telegram webhook through the router: 401 and nothing stored without the secret; one reply per update, replays included', { timeout: 120_000 }, async (t) => {
  const { tg, fleet } = await fleetWithFakes(t);
  const a = await tenant(fleet, 'alpha');
  tg.addBot(TG_A);
  const added = await rpc(fleet, a, 'channels.add', { name: 'tg', platform: 'telegram', credentials: { botToken: TG_A, webhookSecret: SECRET_A }, settings: { mode: 'webhook', dmPolicy: 'open' } });
  assert.ok(!JSON.stringify(added).includes(TG_A) && !JSON.stringify(added).includes(SECRET_A), 'credentials never come back');
  tg.bot(TG_A).webhook = { url: `${fleet.router.url}/hooks/alpha/tg`, secret: SECRET_A };
  const update = { update_id: 500, message: { message_id: 1, from: { id: 42, is_bot: false, first_name: 'U' }, chat: { id: 42, type: 'private' }, date: 1, text: 'hi there' } };
  for (const headers of [{}, { 'x-telegram-bot-api-secret-token': 'wrong-secret-value-0000' }] as Record<string, string>[]) {
    const res = await hook(fleet, '/hooks/alpha/tg', update, headers);
    assert.equal(res.status, 401);
  }
  let status = await rpc(fleet, a, 'channels.status', { name: 'tg' });
  assert.deepEqual(status['counts'], { pending: 0, done: 0, skipped: 0, failed: 0, sent: 0, unknownAfterSend: 0, sendFailed: 0 });
  assert.equal(await tg.deliver(TG_A, update), 200);
  assert.equal(await tg.deliver(TG_A, update), 200, 'a replay is acknowledged');
  await waitFor(() => tg.sent(TG_A).length >= 1, 'the reply');
  assert.equal(await tg.deliver(TG_A, update), 200);
  status = await rpc(fleet, a, 'channels.status', { name: 'tg' });
  assert.equal((status['counts'] as { done: number }).done, 1);
  assert.deepEqual(tg.sent(TG_A).map((m) => m.text), ['echo: hi there']);
  const metrics = await (await fetch(`${[...fleet.shards.values()].find((s) => s.services.store.get('alpha') !== undefined)?.url}/metrics`)).text();
  assert.match(metrics, /openclawmu_channel_ingress_total\{platform="telegram",outcome="duplicate"\} 2/);
  assert.ok(!metrics.includes(TG_A) && !metrics.includes('alpha'));
});

test('slack Events API through the router: url_verification, v0 signatures, retries deduplicated, thread replies', { timeout: 120_000 }, async (t) => {
  const { slack, fleet } = await fleetWithFakes(t);
  const a = await tenant(fleet, 'alpha');
  const signingSecret = 'ab'.repeat(16);
  slack.botTokens.add('xoxb-1111-2222-alphabot');
  await rpc(fleet, a, 'channels.add', { name: 'sl', platform: 'slack', credentials: { botToken: 'xoxb-1111-2222-alphabot', signingSecret }, settings: { mode: 'events', botUserId: 'UBOT', groupPolicy: 'mention' } });
  const url = `${fleet.router.url}/hooks/alpha/sl`;
  const verify = await slack.deliverEvent(url, signingSecret, { type: 'url_verification', challenge: 'c-123', token: 'x' });
  assert.equal(verify.status, 200);
  assert.deepEqual(JSON.parse(verify.body), { challenge: 'c-123' });
  assert.equal((await slack.deliverEvent(url, 'cd'.repeat(16), slack.eventCallback({ channel: 'C1', user: 'U1', text: 'x' }))).status, 401);
  assert.equal((await slack.deliverEvent(url, signingSecret, slack.eventCallback({ channel: 'C1', user: 'U1', text: 'x' }), { timestampSeconds: Math.floor(Date.now() / 1000) - 301 })).status, 401);
  const ev = slack.eventCallback({ channel: 'C1', user: 'U1', text: '<@UBOT> status?', channel_type: 'channel', ts: '1700000100.000100', thread_ts: '1700000000.000001' });
  assert.equal((await slack.deliverEvent(url, signingSecret, ev)).status, 200);
  assert.equal((await slack.deliverEvent(url, signingSecret, ev, { retryNum: 1 })).status, 200);
  // the same message as app_mention (Slack sends both when subscribed to both)
  const mention = { ...ev, event_id: 'Ev-other', event: { ...(ev['event'] as object), type: 'app_mention' } };
  assert.equal((await slack.deliverEvent(url, signingSecret, mention)).status, 200);
  await waitFor(() => slack.posts.length >= 1, 'the reply');
  assert.equal((await slack.deliverEvent(url, signingSecret, ev, { retryNum: 2 })).status, 200);
  const status = await rpc(fleet, a, 'channels.status', { name: 'sl' });
  assert.equal((status['counts'] as { done: number }).done, 1);
  assert.equal(slack.posts.length, 1);
  assert.equal(slack.posts[0]?.thread_ts, '1700000000.000001');
  assert.equal(slack.posts[0]?.text, 'echo: <@UBOT> status?');
});

test('pairing through the router, isolation of channel secrets between tenants, no credential in a backup', { timeout: 120_000 }, async (t) => {
  const { tg, fleet } = await fleetWithFakes(t);
  const a = await tenant(fleet, 'alpha');
  const b = await tenant(fleet, 'bravo');
  tg.addBot(TG_A);
  tg.addBot(TG_B);
  await rpc(fleet, a, 'channels.add', { name: 'tg', platform: 'telegram', credentials: { botToken: TG_A, webhookSecret: SECRET_A }, settings: { mode: 'webhook' } });
  await rpc(fleet, b, 'channels.add', { name: 'tg', platform: 'telegram', credentials: { botToken: TG_B, webhookSecret: SECRET_B }, settings: { mode: 'webhook', dmPolicy: 'open' } });
  tg.bot(TG_A).webhook = { url: `${fleet.router.url}/hooks/alpha/tg`, secret: SECRET_A };

  // A's secret (and A's tenant token) cannot inject into B's channel.
  const forged = { update_id: 9, message: { message_id: 9, from: { id: 7 }, chat: { id: 7, type: 'private' }, date: 1, text: 'inject' } };
  assert.equal((await hook(fleet, '/hooks/bravo/tg', forged, { 'x-telegram-bot-api-secret-token': SECRET_A })).status, 401);
  assert.equal((await hook(fleet, '/hooks/bravo/tg', forged, { 'x-telegram-bot-api-secret-token': SECRET_A, authorization: `Bearer ${a}` })).status, 401);
  const bStatus = await rpc(fleet, b, 'channels.status', { name: 'tg' });
  assert.equal((bStatus['counts'] as { pending: number; done: number }).done + (bStatus['counts'] as { pending: number }).pending, 0);
  assert.equal(tg.sent(TG_B).length, 0);

  // Pairing: an unknown sender gets a code; the tenant approves it; the next message is answered.
  await tg.userSays(TG_A, { chatId: 77, text: 'hello' });
  await waitFor(() => tg.sent(TG_A).length === 1, 'the pairing code');
  const listed = await rpc(fleet, a, 'channels.pairing.list', { name: 'tg' });
  const code = (listed['pending'] as { code: string; sender: string }[])[0]?.code ?? '';
  assert.match(tg.sent(TG_A)[0]?.text ?? '', new RegExp(code));
  assert.equal((await rpc(fleet, a, 'channels.pairing.approve', { name: 'tg', code }))['sender'], '77');
  await tg.userSays(TG_A, { chatId: 77, text: 'and now?' });
  await waitFor(() => tg.sent(TG_A).length === 2, 'the answer after pairing');
  assert.equal(tg.sent(TG_A)[1]?.text, 'echo: and now?');
  assert.equal((await rpc(fleet, a, 'channels.pairing.revoke', { name: 'tg', sender: '77' }))['revoked'], true);

  // A backup archive holds the channel files, sealed: no bot token or secret in clear text.
  const backup = await fleet.admin('/v1/tenants/alpha/backups', { body: {} });
  assert.equal(backup.status, 201, await backup.clone().text());
  const archives: string[] = [];
  const walk = (d: string): void => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.includes('alpha')) archives.push(p);
    }
  };
  walk(join(fleet.dir, 'blobs'));
  assert.ok(archives.some((p) => p.endsWith('.zst')), `an archive in ${archives.join(', ')}`);
  for (const p of archives) {
    const raw = readFileSync(p);
    const pieces: Buffer[] = [];
    if (p.endsWith('.zst')) for await (const piece of zstdDecompressCapped({ maxOutputBytes: 256 * 1024 * 1024 })((async function* () { yield raw; })())) pieces.push(piece);
    const plain = p.endsWith('.zst') ? Buffer.concat(pieces) : raw;
    for (const secret of [TG_A, SECRET_A, TG_A.split(':')[1] ?? '']) assert.ok(!plain.includes(secret), `${secret.slice(0, 6)}… in clear in ${p}`);
    if (p.endsWith('.zst')) assert.ok(plain.includes('channels/tg.yaml'), 'the archive carries the channel file');
  }

  // Audit: add, pair, unpair
  const auditActions = [...fleet.shards.values()].flatMap((s) => readFileSync(join(s.dataDir, 'audit.log'), 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { action: string; tenant: string }))).filter((r) => r.tenant === 'alpha').map((r) => r.action);
  for (const act of ['channel.add', 'channel.pair', 'channel.unpair']) assert.ok(auditActions.includes(act), `${act} audited`);
});
