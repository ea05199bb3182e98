// Durable ingress/egress, cursors, pairing and access rules over a real state.db.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decideAccess, AccessSettingsSchema } from './access-policy.ts';
import type { InboundMessage } from './channel-message.ts';
import { ChannelQueues, egressKey } from './channel-queues.ts';
import { PAIRING_TTL_MS, PairingStore } from './pairing-store.ts';
import { openChannelTestDb } from './test-support/channel-db.ts';

const msg = (eventId: string, over: Partial<InboundMessage> = {}): InboundMessage => ({
  eventId,
  conversation: 'c1',
  sender: { id: 'u1' },
  text: `hello ${eventId}`,
  attachments: [],
  chatType: 'direct',
  mentioned: false,
  ...over,
});

void test('ingress: a replayed (channel, event id) is stored once; another channel may reuse the id', (t) => {
  const h = openChannelTestDb();
  t.after(() => h.close());
  const q = new ChannelQueues(h.db, () => 1000);
  assert.equal(q.ingest('tg', [{ message: msg('1'), raw: { update_id: 1 } }]).length, 1);
  assert.equal(q.ingest('tg', [{ message: msg('1'), raw: { update_id: 1 } }]).length, 0);
  assert.equal(q.ingest('slack', [{ message: msg('1'), raw: {} }]).length, 1);
  assert.deepEqual(q.pending('tg').map((p) => p.eventId), ['1']);
  q.saveReply('tg', '1', 'echo');
  assert.equal(q.pending('tg')[0]?.reply, 'echo');
  q.finish('tg', '1', 'done', 'replied');
  assert.equal(q.pending('tg').length, 0);
  assert.equal(q.counts('tg').done, 1);
});

void test('polling: the cursor commits in the same transaction as the events', (t) => {
  const h = openChannelTestDb();
  t.after(() => h.close());
  const q = new ChannelQueues(h.db, () => 1000);
  assert.equal(q.cursor('tg'), null);
  q.ingestWithCursor('tg', [{ message: msg('7'), raw: {} }, { message: msg('8'), raw: {} }], '9');
  assert.equal(q.cursor('tg'), '9');
  // a failing insert inside the transaction leaves neither the events nor the cursor
  assert.throws(() => q.ingestWithCursor('tg', [{ message: msg('10'), raw: { bad: 1n } }], '11'));
  assert.equal(q.cursor('tg'), '9');
  assert.deepEqual(q.pending('tg').map((p) => p.eventId), ['7', '8']);
});

void test('egress: the intent exists before the send; a second attempt sees it instead of sending again', (t) => {
  const h = openChannelTestDb();
  t.after(() => h.close());
  const q = new ChannelQueues(h.db, () => 1000);
  assert.equal(q.beginSend('tg', '1', 0, 'c1', 'hi'), null);
  const again = q.beginSend('tg', '1', 0, 'c1', 'hi');
  assert.equal(again?.state, 'intent');
  q.settleSend(egressKey('tg', '1', 0), 'sent', { receipt: { platformMessageId: '55' } });
  assert.deepEqual(q.beginSend('tg', '1', 0, 'c1', 'hi'), { idemKey: 'tg:1:0', state: 'sent', receipt: { platformMessageId: '55' } });
  assert.equal(q.beginSend('tg', '1', 1, 'c1', 'more'), null);
  q.settleSend(egressKey('tg', '1', 1), 'unknown_after_send', { error: 'socket hang up' });
  assert.equal(q.counts('tg').unknownAfterSend, 1);
  q.forget('tg');
  assert.equal(q.counts('tg').sent, 0);
});

void test('pairing: 8-character codes, one per sender, at most 3 pending, valid one hour', (t) => {
  const h = openChannelTestDb();
  t.after(() => h.close());
  let now = 1_000_000;
  const p = new PairingStore(h.db, () => now);
  const a = p.request('tg', { id: 'a' }, 'ca');
  assert.equal(a.kind, 'new');
  if (a.kind !== 'new') return;
  assert.match(a.request.code, /^[A-HJKMNP-Z2-9]{8}$/);
  const a2 = p.request('tg', { id: 'a' }, 'ca');
  assert.equal(a2.kind === 'existing' && a2.request.code, a.request.code);
  assert.equal(p.request('tg', { id: 'b' }, 'cb').kind, 'new');
  assert.equal(p.request('tg', { id: 'c' }, 'cc').kind, 'new');
  assert.equal(p.request('tg', { id: 'd' }, 'cd').kind, 'full');
  assert.equal(p.request('other', { id: 'd' }, 'cd').kind, 'new');
  assert.equal(p.list('tg').length, 3);
  assert.equal(p.approve('tg', a.request.code.toLowerCase())?.sender, 'a');
  assert.equal(p.isApproved('tg', 'a'), true);
  assert.equal(p.isApproved('other', 'a'), false);
  assert.equal(p.approve('tg', a.request.code), null);
  now += PAIRING_TTL_MS;
  assert.equal(p.list('tg').length, 0);
  assert.equal(p.request('tg', { id: 'd' }, 'cd').kind, 'new');
  assert.equal(p.revoke('tg', 'a'), true);
  assert.equal(p.isApproved('tg', 'a'), false);
});

void test('access: dmPolicy decides direct messages; groups need a mention unless configured otherwise', () => {
  const s = (o: object) => AccessSettingsSchema.parse(o);
  assert.equal(decideAccess(msg('1'), s({}), false), 'pair');
  assert.equal(decideAccess(msg('1'), s({}), true), 'run');
  assert.equal(decideAccess(msg('1'), s({ dmPolicy: 'allowlist', allowFrom: ['u1'] }), false), 'run');
  assert.equal(decideAccess(msg('1'), s({ dmPolicy: 'allowlist' }), false), 'ignore');
  assert.equal(decideAccess(msg('1'), s({ dmPolicy: 'open' }), false), 'run');
  assert.equal(decideAccess(msg('1'), s({ dmPolicy: 'disabled' }), true), 'ignore');
  assert.equal(decideAccess(msg('1', { sender: { id: 'b', isBot: true } }), s({ dmPolicy: 'open' }), false), 'ignore');
  const g = msg('1', { chatType: 'group' });
  assert.equal(decideAccess(g, s({}), false), 'ignore');
  assert.equal(decideAccess({ ...g, mentioned: true }, s({}), false), 'run');
  assert.equal(decideAccess(g, s({ groupPolicy: 'open' }), false), 'run');
  assert.equal(decideAccess({ ...g, mentioned: true }, s({ groupPolicy: 'disabled' }), false), 'ignore');
});
