// Cron actions for real: a signed webhook with retries and the SSRF guard, a backup job with retention that
// restores, and a tenant moved between two firings (fires once on each owner, never on both).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test, type TestContext } from 'node:test';
import { signWebhook } from './actions/webhook-action.ts';
import { cronHarness, type CronHarness, type HarnessOptions } from './test-support/cron-harness.ts';
import { ManualClock } from './test-support/manual-clock.ts';
import type { ActionHandler } from './cron-actions.ts';
import type { CronAction } from './cron-job.ts';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'ocm-cron-act-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function open(t: TestContext, dir: string, clock: ManualClock, opts: HarnessOptions = {}): CronHarness {
  const h = cronHarness(dir, clock, { ...opts, cron: { jitterSeconds: 0, ...opts.cron } });
  t.after(() => h.close());
  return h;
}

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

async function receiver(t: TestContext, statuses: number[]): Promise<{ url: string; got: Received[] }> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.statusCode = statuses.shift() ?? 200;
      res.end('ok');
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  t.after(() => new Promise<void>((ok) => server.close(() => ok())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got };
}

test('a webhook job POSTs a signed body, retries a 503, and records the run', async (t) => {
  const { url, got } = await receiver(t, [503, 200]);
  const clock = new ManualClock('2026-05-01T09:59:00Z');
  const h = open(t, tempDir(t), clock);
  await h.tenant('acme');
  const secret = 'whsec_0123456789abcdef';
  const { id } = h.cron.add(h.caller('acme'), { name: 'ping', schedule: '0 10 * * *', action: { type: 'webhook', url, secret } });
  assert.equal((h.cron.get(h.caller('acme'), id).action as { secret: string }).secret, '(set)', 'the secret is never read back');
  clock.set('2026-05-01T10:00:00Z');
  await h.cron.scheduler.idle();
  assert.equal(got.length, 2);
  const last = got[1] as Received;
  const ts = last.headers['x-openclawmu-timestamp'] as string;
  assert.equal(last.headers['x-openclawmu-signature'], signWebhook(secret, ts, last.body));
  assert.equal(last.headers['x-openclawmu-delivery'], `${id}:${Date.parse('2026-05-01T10:00:00Z')}`);
  assert.deepEqual(JSON.parse(last.body), { type: 'cron.run', tenant: 'acme', job: { id, name: 'ping' }, scheduledAt: '2026-05-01T10:00:00.000Z', attempt: 1 });
  assert.equal(h.cron.runs(h.caller('acme'), id, 5).runs[0]?.outcome, 'ok');
});

test('a webhook to a private address is refused at connect time (SSRF guard) and not retried', async (t) => {
  const { url, got } = await receiver(t, []);
  const clock = new ManualClock('2026-05-01T09:59:00Z');
  const h = open(t, tempDir(t), clock, { cron: { webhook: { allowPrivateNetwork: false, backoffMs: 0 } } });
  await h.tenant('acme');
  const { id } = h.cron.add(h.caller('acme'), { name: 'ping', schedule: '0 10 * * *', action: { type: 'webhook', url } });
  clock.set('2026-05-01T10:00:00Z');
  await h.cron.scheduler.idle();
  assert.equal(got.length, 0);
  const [run] = h.cron.runs(h.caller('acme'), id, 5).runs;
  assert.equal(run?.outcome, 'error');
  assert.equal((run?.error as { code: string }).code, 'AI_SSRF_BLOCKED');
});

test('a nightly backup job writes snapshots that restore, and keeps only `keep` of them', async (t) => {
  const dir = tempDir(t);
  const blob = pathToFileURL(join(dir, 'blobs')).href;
  const clock = new ManualClock('2026-05-01T02:00:00Z');
  const h = open(t, join(dir, 'shard'), clock, { blob });
  await h.tenant('acme');
  const { id } = h.cron.add(h.caller('acme'), { name: 'nightly', schedule: '0 3 * * *', tz: 'UTC', action: { type: 'backup', keep: 2 } });
  for (const day of ['01', '02', '03']) {
    clock.set(`2026-05-${day}T03:00:00Z`);
    await h.cron.scheduler.idle();
  }
  const runs = h.cron.runs(h.caller('acme'), id, 10).runs;
  assert.deepEqual(runs.map((r) => r.outcome), ['ok', 'ok', 'ok']);
  const backups = h.backups;
  assert.ok(backups !== null);
  const kept = await backups.list('acme');
  assert.equal(kept.length, 2, 'only the newest two snapshots are kept');
  const newest = kept[kept.length - 1];
  assert.ok(newest !== undefined);
  // The same path as `openclawmu tenants restore --from <key> --as acme-copy`.
  const restored = await backups.restore({ from: newest.key, as: 'acme-copy' }, { actor: { type: 'admin' } });
  assert.equal(restored.sourceTenant, 'acme');
  const copy = h.cron.list(h.caller('acme-copy')).jobs;
  assert.deepEqual(copy.map((j) => j.name), ['nightly'], 'the restored tenant has its cron jobs');
});

type AgentAction = Extract<CronAction, { type: 'agent' }>;

test('a tenant moved between two firings fires once on the old owner before and once on the new owner after', async (t) => {
  const dir = tempDir(t);
  const blob = pathToFileURL(join(dir, 'blobs')).href;
  const fired: Array<{ shard: string; scheduledAt: string }> = [];
  const agent = (shard: string): ActionHandler<AgentAction> => async (ctx) => {
    fired.push({ shard, scheduledAt: new Date(ctx.scheduledAt).toISOString() });
    return { result: null };
  };
  const clockA = new ManualClock('2026-05-01T09:30:00Z');
  const clockB = new ManualClock('2026-05-01T09:30:00Z');
  const a = open(t, join(dir, 'a'), clockA, { shardId: 's1', blob, agent: agent('s1') });
  const b = open(t, join(dir, 'b'), clockB, { shardId: 's2', blob, agent: agent('s2') });
  const both = async (iso: string): Promise<void> => {
    clockA.set(iso);
    clockB.set(iso);
    await a.cron.scheduler.idle();
    await b.cron.scheduler.idle();
  };
  await a.tenant('acme');
  const { id } = a.cron.add(a.caller('acme'), { name: 'hourly', schedule: '0 * * * *', action: { type: 'agent', prompt: 'tick' }, missed: 'once' });
  await both('2026-05-01T10:00:00Z');
  // The move (DESIGN §6) starts at 10:50: freeze on A; 11:00 passes while frozen; import on B at 11:05.
  await both('2026-05-01T10:50:00Z');
  await a.svc.store.setState('acme', 'frozen', { type: 'admin' });
  await both('2026-05-01T11:00:00Z');
  await both('2026-05-01T11:05:00Z');
  const snap = await (a.backups ?? assert.fail('no blob')).backup('acme', { actor: { type: 'system' } });
  await (b.backups ?? assert.fail('no blob')).restore({ from: snap.key }, { actor: { type: 'admin' } });
  await a.svc.store.markMoved('acme', 's2', 2, { type: 'system' });
  await both('2026-05-01T11:05:00Z');
  await both('2026-05-01T11:30:00Z');
  assert.deepEqual(fired, [
    { shard: 's1', scheduledAt: '2026-05-01T10:00:00.000Z' },
    { shard: 's2', scheduledAt: '2026-05-01T11:00:00.000Z' },
  ]);
  assert.equal(a.index.count(), 0, 'the old owner dropped the moved tenant from its index');
  const runs = b.cron.runs(b.caller('acme'), id, 10).runs;
  assert.deepEqual(runs.map((r) => [r.scheduledAt, r.outcome]), [
    ['2026-05-01T11:00:00.000Z', 'ok'],
    ['2026-05-01T10:00:00.000Z', 'ok'],
  ]);
});
