// SIGKILL during a cron run, then restart: the run is `interrupted`, and runs again only per its `retry`.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cronHarness } from './test-support/cron-harness.ts';
import { ManualClock } from './test-support/manual-clock.ts';

test('SIGKILL during a run, then restart: interrupted, and re-run only per retry', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ocm-cron-crash-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // The receiver holds the first two calls (the child is killed while they hang) and answers the rest.
  const held: ServerResponse[] = [];
  let calls = 0;
  let bothArrived: () => void = () => undefined;
  const arrived = new Promise<void>((ok) => (bothArrived = ok));
  const server = createServer((req, res) => {
    req.resume();
    calls++;
    if (calls <= 2) {
      held.push(res);
      if (calls === 2) bothArrived();
    } else res.end('ok');
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  t.after(() => {
    for (const r of held) r.destroy();
    server.closeAllConnections();
    return new Promise<void>((ok) => server.close(() => ok()));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;

  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./test-support/cron-child.ts', import.meta.url)), dir, url], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<NodeJS.Signals | null>((ok) => child.once('exit', (_code, signal) => ok(signal)));
  await arrived;
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');
  const ids = JSON.parse(out.trim()) as { retried: string; once: string };

  const clock = new ManualClock('2026-05-01T10:05:00Z');
  const h = cronHarness(dir, clock, { cron: { jitterSeconds: 0 } });
  t.after(() => h.close());
  await h.cron.scheduler.idle();
  const c = h.caller('acme');
  const first = h.cron.runs(c, ids.retried, 5).runs[0];
  assert.equal(first?.outcome, 'interrupted');
  assert.equal(first?.retryAt, '2026-05-01T10:06:00.000Z');
  assert.equal(h.cron.runs(c, ids.once, 5).runs[0]?.outcome, 'interrupted');
  assert.equal(calls, 2, 'nothing re-ran at start-up');

  clock.set('2026-05-01T10:06:00Z');
  await h.cron.scheduler.idle();
  assert.equal(calls, 3, 'the retried job ran once more; the other did not');
  const again = h.cron.runs(c, ids.retried, 5).runs;
  assert.deepEqual(again.map((r) => [r.scheduledAt, r.outcome, r.attempts]), [['2026-05-01T10:00:00.000Z', 'ok', 2]]);
  const never = h.cron.runs(c, ids.once, 5).runs;
  assert.deepEqual(never.map((r) => [r.outcome, r.attempts]), [['interrupted', 1]]);
  clock.set('2026-05-01T12:00:00Z');
  await h.cron.scheduler.idle();
  assert.equal(calls, 3);
});
