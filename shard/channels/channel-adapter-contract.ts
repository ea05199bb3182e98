// The one contract every channel adapter passes (each platform, each mode): a suite over a harness
// that speaks the platform's real wire format through a local fake (test/fakes/).
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { Agent } from 'undici';
import { isAppError } from '../../router/errors/app-error.ts';
import type { AccessSettings } from './access-policy.ts';
import type { AdapterContext, AnyChannelAdapter, InboundRequest } from './channel-adapter.ts';
import { ChannelQueues } from './channel-queues.ts';
import { ChannelRunner } from './channel-runner.ts';
import { ConversationLanes } from './conversation-lanes.ts';
import { PairingStore } from './pairing-store.ts';
import { openChannelTestDb } from './test-support/channel-db.ts';

export interface HarnessMessage {
  /** Unique per delivery within a test (update id, ts, message id ...). */
  seq: number;
  /** A platform-native conversation seed: the harness maps it to a chat, a channel, a visitor. */
  conversation: number;
  sender: number;
  text: string;
}

export type Delivery = { kind: 'http'; request: InboundRequest } | { kind: 'push'; push(): Promise<void> };

export interface AdapterHarness {
  readonly adapter: AnyChannelAdapter;
  readonly credentials: unknown;
  readonly settings: AccessSettings;
  readonly apiBaseUrl: string;
  /** The delivery as the platform makes it; calling it again is the platform's retry. */
  delivery(m: HarnessMessage): Delivery;
  /** An HTTP delivery with its signature missing or wrong; null on connector platforms. */
  forged(m: HarnessMessage, kind: 'missing' | 'mismatch'): InboundRequest | null;
  /** Replies the platform received, in order. */
  replies(queues: ChannelQueues, channel: string): { conversation: string; text: string }[];
  close(): Promise<void>;
}

export type HarnessFactory = () => Promise<AdapterHarness>;

export async function waitFor(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

interface Rig {
  h: AdapterHarness;
  runner: ChannelRunner;
  queues: ChannelQueues;
  ctx: AdapterContext<unknown, AccessSettings>;
  /** Another runner over the same state.db: what a restarted process builds. */
  restarted(): ChannelRunner;
  deliver(m: HarnessMessage): Promise<void>;
  replies(): { conversation: string; text: string }[];
  turns: string[];
}

async function rig(t: TestContext, factory: HarnessFactory): Promise<Rig> {
  const h = await factory();
  const db = openChannelTestDb();
  const dispatcher = new Agent();
  const queues = new ChannelQueues(db.db, Date.now);
  const pairing = new PairingStore(db.db, Date.now);
  const turns: string[] = [];
  const ctx: AdapterContext<unknown, AccessSettings> = { tenant: 'acme', channel: 'main', credentials: h.credentials, settings: h.settings, apiBaseUrl: h.apiBaseUrl, dispatcher, now: Date.now, platformTimeoutMs: 5000 };
  const runners: ChannelRunner[] = [];
  const make = (): ChannelRunner => {
    const r = new ChannelRunner({
      tenant: 'acme',
      name: 'main',
      adapter: h.adapter,
      ctx,
      queues,
      pairing,
      lanes: new ConversationLanes(),
      runTurn: ({ text, idempotencyKey }) => {
        turns.push(idempotencyKey);
        return Promise.resolve(`echo: ${text}`);
      },
      sleep: () => Promise.resolve(),
    });
    runners.push(r);
    return r;
  };
  const runner = make();
  runner.startConnector();
  if (h.adapter.usesConnector(h.settings)) await waitFor(() => runner.connectorStatus()?.state === 'running', 'the connector to run');
  t.after(async () => {
    for (const r of runners) await r.stop();
    await h.close();
    await dispatcher.close();
    db.close();
  });
  return {
    h,
    runner,
    queues,
    ctx,
    turns,
    restarted: make,
    replies: () => h.replies(queues, 'main'),
    async deliver(m) {
      const d = h.delivery(m);
      if (d.kind === 'http') runner.receive(d.request);
      else await d.push();
    },
  };
}

/** Registers the contract's subtests under `t`, each on a fresh harness from `factory`. */
export async function channelAdapterContract(t: TestContext, factory: HarnessFactory, opts: { connector: boolean }): Promise<void> {
  const httpOnly = opts.connector ? { skip: 'a connector authenticates itself to the platform; no inbound signature to forge' } : {};

  await t.test('a delivery becomes one normalised message and gets exactly one reply in its conversation', async (t) => {
    const r = await rig(t, factory);
    await r.deliver({ seq: 1, conversation: 1001, sender: 2001, text: 'hello there' });
    await waitFor(() => r.queues.counts('main').done === 1, 'the event to be done');
    await r.runner.idle();
    const replies = r.replies();
    assert.equal(replies.length, 1);
    assert.equal(replies[0]?.text, 'echo: hello there');
    assert.equal(r.queues.counts('main').sent, 1);
    assert.equal(r.turns.length, 1);
  });

  await t.test('a replayed delivery (platform retry) is stored once and answered once', async (t) => {
    const r = await rig(t, factory);
    const m = { seq: 7, conversation: 1001, sender: 2001, text: 'once' };
    await r.deliver(m);
    await waitFor(() => r.queues.counts('main').done === 1, 'the first delivery');
    await r.deliver(m);
    await r.deliver(m);
    await r.runner.idle();
    await waitFor(() => r.queues.counts('main').pending === 0, 'nothing pending');
    assert.equal(r.replies().length, 1);
    assert.equal(r.turns.length, 1);
    assert.equal(r.queues.counts('main').done, 1);
  });

  await t.test('a missing or wrong signature is refused (CHANNEL_SIGNATURE_INVALID) and nothing is stored', httpOnly, async (t) => {
    const r = await rig(t, factory);
    for (const kind of ['missing', 'mismatch'] as const) {
      const req = r.h.forged({ seq: 9, conversation: 1001, sender: 2001, text: 'inject' }, kind);
      assert.ok(req !== null);
      assert.throws(() => r.runner.receive(req), (e: unknown) => isAppError(e) && e.code === 'CHANNEL_SIGNATURE_INVALID' && e.status === 401);
    }
    const c = r.queues.counts('main');
    assert.equal(c.pending + c.done + c.skipped + c.failed, 0);
  });

  await t.test('a reply longer than the platform limit arrives in parts within the limit, in order', async (t) => {
    const r = await rig(t, factory);
    const text = 'lorem ipsum '.repeat(660).trim();
    await r.deliver({ seq: 3, conversation: 1001, sender: 2001, text });
    await waitFor(() => r.queues.counts('main').done === 1, 'the long reply');
    const parts = r.replies().map((p) => p.text);
    assert.equal(parts.join(''), `echo: ${text}`);
    const limit = r.h.adapter.maxTextLength;
    assert.equal(parts.length > 1, `echo: ${text}`.length > limit);
    for (const p of parts) assert.ok(p.length <= limit);
  });

  await t.test('replies in one conversation keep arrival order', async (t) => {
    const r = await rig(t, factory);
    for (let i = 0; i < 5; i++) await r.deliver({ seq: 20 + i, conversation: 1001, sender: 2001, text: `n${i}` });
    await waitFor(() => r.queues.counts('main').done === 5, 'five replies');
    assert.deepEqual(r.replies().map((p) => p.text), ['echo: n0', 'echo: n1', 'echo: n2', 'echo: n3', 'echo: n4']);
  });

  await t.test('an intent without a receipt (stopped mid-send) is never blindly resent', async (t) => {
    const r = await rig(t, factory);
    const d = r.h.delivery({ seq: 40, conversation: 1001, sender: 2001, text: 'crash' });
    if (d.kind !== 'http') {
      t.skip('connector platforms store through the connector; the egress rule is the same code, covered by the http platforms');
      return;
    }
    // what a process killed between the intent commit and the platform's answer leaves behind
    const ev = r.h.adapter.receive(r.ctx, d.request).events[0];
    assert.ok(ev !== undefined);
    r.queues.ingest('main', [ev]);
    r.queues.saveReply('main', ev.message.eventId, 'echo: crash');
    assert.equal(r.queues.beginSend('main', ev.message.eventId, 0, ev.message.conversation, 'echo: crash'), null);
    const after = r.restarted();
    after.resume();
    await after.idle();
    const row = r.queues.egress(`main:${ev.message.eventId}:0`);
    if (r.h.adapter.idempotentSends) {
      assert.equal(row?.state, 'sent');
      assert.equal(r.replies().length, 1, 'resent once under the same idempotency key');
    } else {
      assert.equal(row?.state, 'unknown_after_send');
      assert.equal(r.replies().length, 0);
      assert.equal(r.queues.counts('main').unknownAfterSend, 1);
    }
    assert.equal(r.turns.length, 0, 'the stored reply is used; the turn does not run again');
  });

  if (opts.connector) {
    await t.test('connector: stop leaves nothing in flight; a restart resumes from the stored cursor without replays', async (t) => {
      const r = await rig(t, factory);
      await r.deliver({ seq: 50, conversation: 1001, sender: 2001, text: 'before' });
      await waitFor(() => r.queues.counts('main').done === 1, 'first reply');
      await r.runner.stopConnector();
      assert.equal(r.runner.connectorStatus()?.state, 'stopped');
      r.runner.startConnector();
      await waitFor(() => r.runner.connectorStatus()?.state === 'running', 'running again');
      await r.deliver({ seq: 51, conversation: 1001, sender: 2001, text: 'after' });
      await waitFor(() => r.queues.counts('main').done === 2, 'second reply');
      assert.deepEqual(r.replies().map((p) => p.text), ['echo: before', 'echo: after']);
    });
  }
}
