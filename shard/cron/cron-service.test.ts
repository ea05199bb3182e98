// Cron on a shard's real services and state.db, with a manual clock: firing, missed policies, limits, one timer.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { AppError } from '../../router/errors/app-error.ts';
import type { ActionHandler } from './cron-actions.ts';
import type { CronAction } from './cron-job.ts';
import { cronHarness, type CronHarness, type HarnessOptions } from './test-support/cron-harness.ts';
import { ManualClock } from './test-support/manual-clock.ts';

type AgentAction = Extract<CronAction, { type: 'agent' }>;

interface Recorder {
  readonly calls: Array<{ tenant: string; job: string; scheduledAt: string; at: string }>;
  readonly agent: ActionHandler<AgentAction>;
}

function recorder(clock: ManualClock): Recorder {
  const calls: Recorder['calls'] = [];
  return {
    calls,
    agent: async (ctx) => {
      calls.push({ tenant: ctx.tenantId, job: ctx.job.id, scheduledAt: new Date(ctx.scheduledAt).toISOString(), at: new Date(clock.now()).toISOString() });
      return { result: null };
    },
  };
}

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'ocm-cron-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function open(t: TestContext, dir: string, clock: ManualClock, opts: HarnessOptions = {}): CronHarness {
  const h = cronHarness(dir, clock, { cron: { jitterSeconds: 0 }, ...opts });
  t.after(() => h.close());
  return h;
}

const agentAction = { type: 'agent', prompt: 'summarise the day' } as const;

function openStateDbs(): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).endsWith('/state.db')) n++;
    } catch {
      /* closed meanwhile */
    }
  }
  return n;
}

test('a job fires at its time, once, through the one timer', async (t) => {
  const clock = new ManualClock('2026-05-01T09:59:00Z');
  const rec = recorder(clock);
  const h = open(t, tempDir(t), clock, { agent: rec.agent });
  await h.tenant('acme');
  const { id, nextRunAt } = h.cron.add(h.caller('acme'), { name: 'daily', schedule: '0 10 * * *', action: agentAction });
  assert.equal(nextRunAt, '2026-05-01T10:00:00.000Z');
  assert.equal(clock.timers, 1);
  clock.set('2026-05-01T10:00:00Z');
  await h.cron.scheduler.idle();
  assert.deepEqual(rec.calls.map((c) => c.scheduledAt), ['2026-05-01T10:00:00.000Z']);
  clock.set('2026-05-01T11:00:00Z');
  await h.cron.scheduler.idle();
  assert.equal(rec.calls.length, 1);
  const runs = h.cron.runs(h.caller('acme'), id, 10).runs;
  assert.equal(runs.length, 1);
  assert.equal(runs[0]?.outcome, 'ok');
  assert.equal(clock.timers, 1, 'one timer for the next fire (tomorrow)');
  assert.equal(h.cron.get(h.caller('acme'), id).nextRunAt, '2026-05-02T10:00:00.000Z');
});

test('300 jobs over 30 tenants keep one timer, and no tenant database is opened until a job is due', async (t) => {
  const dir = tempDir(t);
  const clock = new ManualClock('2026-05-01T09:00:00Z');
  const rec = recorder(clock);
  const h1 = cronHarness(dir, clock, { cron: { jitterSeconds: 0, maxJobsPerTenant: 10 }, agent: rec.agent });
  for (let i = 0; i < 30; i++) {
    const tenant = await h1.tenant(`t${i}`);
    for (let j = 0; j < 10; j++) h1.cron.add(h1.caller(tenant), { name: `j${j}`, schedule: `${(i + j) % 60} 10 * * *`, action: agentAction });
  }
  assert.equal(clock.timers, 1);
  await h1.close();
  // A fresh process: no state.db open after start, still one timer.
  const before = openStateDbs();
  const h2 = open(t, dir, clock, { cron: { jitterSeconds: 0, maxJobsPerTenant: 10 }, agent: rec.agent });
  assert.equal(h2.index.count(), 300);
  assert.equal(openStateDbs(), before, 'start-up opened no tenant database');
  assert.equal(clock.timers, 1);
  clock.set('2026-05-01T10:00:00Z');
  await h2.cron.scheduler.idle();
  // Due at 10:00: the jobs with (i + j) % 60 === 0, one per tenant at most.
  assert.equal(rec.calls.length, new Set(rec.calls.map((c) => c.tenant)).size);
  assert.ok(rec.calls.length > 0);
});

test('a shard down for 3 hours with an hourly catchup job capped at 2 runs exactly 2 on start', async (t) => {
  const dir = tempDir(t);
  const clock = new ManualClock('2026-05-01T10:00:30Z');
  const rec = recorder(clock);
  const a = cronHarness(dir, clock, { cron: { jitterSeconds: 0 }, agent: rec.agent });
  await a.tenant('acme');
  const { id } = a.cron.add(a.caller('acme'), { name: 'hourly', schedule: '0 * * * *', action: agentAction, missed: { policy: 'catchup', window: '24h', cap: 2 } });
  clock.set('2026-05-01T11:00:00Z');
  await a.cron.scheduler.idle();
  assert.equal(rec.calls.length, 1);
  await a.close();
  // Down from 11:00:01 to 14:10: 12:00, 13:00 and 14:00 were missed.
  const later = new ManualClock('2026-05-01T14:10:00Z');
  const b = open(t, dir, later, { cron: { jitterSeconds: 0 }, agent: rec.agent });
  await b.cron.scheduler.idle();
  assert.deepEqual(rec.calls.map((c) => c.scheduledAt), ['2026-05-01T11:00:00.000Z', '2026-05-01T13:00:00.000Z', '2026-05-01T14:00:00.000Z']);
  assert.equal(b.cron.get(b.caller('acme'), id).nextRunAt, '2026-05-01T15:00:00.000Z');
});

test('missed policies: skip runs nothing late, once runs one for the newest missed time', async (t) => {
  const dir = tempDir(t);
  const clock = new ManualClock('2026-05-01T10:00:30Z');
  const rec = recorder(clock);
  const a = cronHarness(dir, clock, { cron: { jitterSeconds: 0 }, agent: rec.agent });
  await a.tenant('acme');
  const skip = a.cron.add(a.caller('acme'), { name: 'skip', schedule: '0 * * * *', action: agentAction, missed: 'skip' }).id;
  const once = a.cron.add(a.caller('acme'), { name: 'once', schedule: '0 * * * *', action: agentAction, missed: 'once' }).id;
  await a.close();
  const later = new ManualClock('2026-05-01T14:10:00Z');
  const b = open(t, dir, later, { cron: { jitterSeconds: 0 }, agent: rec.agent });
  await b.cron.scheduler.idle();
  assert.deepEqual(rec.calls.map((c) => [c.job, c.scheduledAt]), [[once, '2026-05-01T14:00:00.000Z']]);
  assert.equal(b.cron.runs(b.caller('acme'), skip, 10).runs.length, 0);
  later.set('2026-05-01T15:00:00Z');
  await b.cron.scheduler.idle();
  assert.equal(rec.calls.filter((c) => c.job === skip).length, 1, 'skip runs on time again');
});

test('a frozen tenant\'s jobs wait, and run per policy once it is thawed', async (t) => {
  const clock = new ManualClock('2026-05-01T09:59:00Z');
  const rec = recorder(clock);
  const h = open(t, tempDir(t), clock, { agent: rec.agent, cron: { jitterSeconds: 0, frozenRecheckSeconds: 5 } });
  await h.tenant('acme');
  h.cron.add(h.caller('acme'), { name: 'j', schedule: '0 10 * * *', action: agentAction, missed: 'once' });
  await h.svc.store.setState('acme', 'frozen', { type: 'admin' });
  clock.set('2026-05-01T10:00:00Z');
  await h.cron.scheduler.idle();
  clock.advance(60_000);
  await h.cron.scheduler.idle();
  assert.equal(rec.calls.length, 0);
  await h.svc.store.setState('acme', 'owned', { type: 'admin' });
  clock.advance(5_000);
  await h.cron.scheduler.idle();
  assert.deepEqual(rec.calls.map((c) => c.scheduledAt), ['2026-05-01T10:00:00.000Z']);
});

test('an `at` job runs once and is then disabled', async (t) => {
  const clock = new ManualClock('2026-05-01T09:00:00Z');
  const rec = recorder(clock);
  const h = open(t, tempDir(t), clock, { agent: rec.agent });
  await h.tenant('acme');
  const { id, nextRunAt } = h.cron.add(h.caller('acme'), { name: 'once', schedule: { at: '2026-05-01T12:00:00+02:00' }, action: agentAction });
  assert.equal(nextRunAt, '2026-05-01T10:00:00.000Z');
  clock.set('2026-05-01T10:00:00Z');
  await h.cron.scheduler.idle();
  clock.set('2026-05-02T10:00:00Z');
  await h.cron.scheduler.idle();
  assert.equal(rec.calls.length, 1);
  const job = h.cron.get(h.caller('acme'), id);
  assert.equal(job.enabled, false);
  assert.equal(job.nextRunAt, null);
  assert.equal(h.index.count(), 0);
});

test('a failing run is re-run per its retry setting, with backoff', async (t) => {
  const clock = new ManualClock('2026-05-01T09:59:00Z');
  let fails = 2;
  const seen: string[] = [];
  const h = open(t, tempDir(t), clock, {
    agent: async (ctx) => {
      seen.push(`${new Date(ctx.scheduledAt).toISOString()}#${ctx.attempt}`);
      if (fails-- > 0) throw new AppError('AI_PROVIDER_ERROR');
      return { result: null };
    },
  });
  await h.tenant('acme');
  const { id } = h.cron.add(h.caller('acme'), { name: 'j', schedule: '0 10 * * *', action: agentAction, retry: { attempts: 2, backoff: '1m' } });
  clock.set('2026-05-01T10:00:00Z');
  await h.cron.scheduler.idle();
  clock.set('2026-05-01T10:01:00Z');
  await h.cron.scheduler.idle();
  clock.set('2026-05-01T10:03:00Z');
  await h.cron.scheduler.idle();
  assert.deepEqual(seen, ['2026-05-01T10:00:00.000Z#1', '2026-05-01T10:00:00.000Z#2', '2026-05-01T10:00:00.000Z#3']);
  const [run] = h.cron.runs(h.caller('acme'), id, 5).runs;
  assert.equal(run?.outcome, 'ok');
  assert.equal(run?.attempts, 3);
});

test('limits: jobs per tenant, minimum interval, a run already in progress, concurrent runs', async (t) => {
  const clock = new ManualClock('2026-05-01T09:00:00Z');
  const gates: Array<() => void> = [];
  const h = open(t, tempDir(t), clock, {
    cron: { jitterSeconds: 0, maxJobsPerTenant: 3, minIntervalSeconds: 300, maxConcurrentRunsPerTenant: 2, runTimeoutSeconds: 7200 },
    agent: () => new Promise((ok) => gates.push(() => ok({ result: null }))),
  });
  await h.tenant('acme');
  const code = (fn: () => unknown): string => {
    try {
      fn();
    } catch (err) {
      return err instanceof AppError ? err.code : String(err);
    }
    return 'none';
  };
  assert.equal(code(() => h.cron.add(h.caller('acme'), { name: 'fast', schedule: '*/1 * * * *', action: agentAction })), 'CRON_LIMIT_INTERVAL');
  assert.equal(code(() => h.cron.add(h.caller('acme'), { name: 'fast', schedule: { every: '90s' }, action: agentAction })), 'CRON_LIMIT_INTERVAL');
  assert.equal(code(() => h.cron.add(h.caller('acme'), { name: 'past', schedule: { at: '2026-04-01T00:00:00Z' }, action: agentAction })), 'CRON_SCHEDULE_INVALID');
  assert.equal(code(() => h.cron.add(h.caller('acme'), { name: 'dl', schedule: '0 * * * *', action: { ...agentAction, deliver: { channel: 'tg', to: '42' } } })), 'CRON_CHANNELS_UNAVAILABLE');
  assert.equal(code(() => h.cron.add(h.caller('acme'), { name: 'b', schedule: '0 * * * *', action: { type: 'backup', keep: 2 } })), 'BLOB_NOT_CONFIGURED');
  const ids = [1, 2, 3].map((i) => h.cron.add(h.caller('acme'), { name: `j${i}`, schedule: '0 * * * *', action: agentAction }).id);
  assert.equal(code(() => h.cron.add(h.caller('acme'), { name: 'j4', schedule: '0 * * * *', action: agentAction })), 'CRON_LIMIT_JOBS');
  const [j1, j2, j3] = ids as [string, string, string];
  h.cron.runNow(h.caller('acme'), j1);
  assert.equal(code(() => h.cron.runNow(h.caller('acme'), j1)), 'CRON_JOB_RUNNING');
  h.cron.runNow(h.caller('acme'), j2);
  assert.equal(code(() => h.cron.runNow(h.caller('acme'), j3)), 'CRON_LIMIT_CONCURRENT');
  assert.equal(code(() => h.cron.remove(h.caller('acme'), j1)), 'CRON_JOB_RUNNING');
  // Scheduled runs wait for a free slot rather than fail.
  clock.set('2026-05-01T10:00:00Z');
  await Promise.resolve();
  assert.equal(h.cron.status(h.caller('acme')).running, 2);
  // Open each run's gate as it reaches its action, until nothing is in flight.
  for (let i = 0; i < 10_000 && h.cron.scheduler.inflight > 0; i++) {
    gates.shift()?.();
    await new Promise<void>((ok) => setImmediate(ok));
  }
  await h.cron.scheduler.idle();
  for (const id of ids) assert.ok(h.cron.runs(h.caller("acme"), id, 5).runs.every((r) => r.outcome === "ok"), JSON.stringify(h.cron.runs(h.caller("acme"), id, 5)));
  assert.equal(h.cron.runs(h.caller('acme'), j3, 5).runs.length, 1, 'j3 ran at 10:00 once a slot was free');
});

test('update, disable, enable and remove keep the index in step; enabling again starts from now', async (t) => {
  const clock = new ManualClock('2026-05-01T09:00:00Z');
  const rec = recorder(clock);
  const h = open(t, tempDir(t), clock, { agent: rec.agent });
  await h.tenant('acme');
  const c = h.caller('acme');
  const { id } = h.cron.add(c, { name: 'j', schedule: '0 10 * * *', action: agentAction, missed: 'once' });
  h.cron.setEnabled(c, id, false);
  assert.equal(h.index.count(), 0);
  clock.set('2026-05-01T11:00:00Z');
  await h.cron.scheduler.idle();
  h.cron.setEnabled(c, id, true);
  await h.cron.scheduler.idle();
  assert.equal(rec.calls.length, 0, 'no catch-up for the time the job was disabled');
  const updated = h.cron.update(c, id, { schedule: '30 11 * * *', tz: 'Europe/Berlin' });
  assert.equal(updated.nextRunAt, '2026-05-02T09:30:00.000Z');
  assert.equal(h.index.get('acme', id)?.fireAt, Date.parse('2026-05-02T09:30:00Z'));
  assert.equal(h.cron.list(c).jobs.length, 1);
  h.cron.remove(c, id);
  assert.equal(h.index.count(), 0);
  assert.throws(() => h.cron.get(c, id), (e: unknown) => e instanceof AppError && e.code === 'CRON_JOB_NOT_FOUND');
  await h.svc.audit.flushed();
  const audited = readFileSync(join(h.svc.dataDir, 'audit.log'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { action: string; target?: string })
    .filter((r) => r.action.startsWith('cron.'))
    .map((r) => r.action);
  assert.deepEqual(audited, ['cron.add', 'cron.update', 'cron.update', 'cron.update', 'cron.remove']);
});

test('on-the-hour jobs start after their stable jitter, and keep their nominal time as the claim', async (t) => {
  const clock = new ManualClock('2026-05-01T09:30:00Z');
  const rec = recorder(clock);
  const h = open(t, tempDir(t), clock, { agent: rec.agent, cron: { jitterSeconds: 300 } });
  await h.tenant('acme');
  const { id } = h.cron.add(h.caller('acme'), { name: 'hourly', schedule: '0 * * * *', action: agentAction });
  const fireAt = h.index.get('acme', id)?.fireAt as number;
  const delay = fireAt - Date.parse('2026-05-01T10:00:00Z');
  assert.ok(delay >= 0 && delay < 300_000);
  clock.set(new Date(fireAt).toISOString());
  await h.cron.scheduler.idle();
  assert.deepEqual(rec.calls.map((c) => c.scheduledAt), ['2026-05-01T10:00:00.000Z']);
  assert.equal(rec.calls[0]?.at, new Date(fireAt).toISOString());
});
