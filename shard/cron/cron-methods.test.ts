// cron.* through the real JSON-RPC dispatcher and tenant context: the issue 14 contract, errors as RPC errors.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { tenantContext } from '../http/tenant-request.ts';
import { dispatchRpcFrame, type RpcResponse } from '../rpc/rpc-dispatch.ts';
import { cronRpcMethods } from './cron-methods.ts';
import { cronHarness } from './test-support/cron-harness.ts';
import { ManualClock } from './test-support/manual-clock.ts';

test('cron.add → {id, nextRunAt}; cron.runs newest first; limits and unknown jobs answer RPC errors', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ocm-cron-rpc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const clock = new ManualClock('2026-05-01T09:00:00Z');
  const h = cronHarness(dir, clock, { cron: { jitterSeconds: 0, maxJobsPerTenant: 1 }, agent: async () => ({ result: null }) });
  t.after(() => h.close());
  await h.tenant('acme');
  const methods = new Map(cronRpcMethods(() => h.cron).map((m) => [m.name, m]));
  const call = async (method: string, params?: unknown): Promise<RpcResponse> =>
    JSON.parse(
      (await dispatchRpcFrame(JSON.stringify({ jsonrpc: '2.0', id: 1, method, ...(params === undefined ? {} : { params }) }), {
        methods,
        maxBatch: 10,
        responseLimits: { responseMaxBytes: 1 << 20, rpcBatchResponseMaxBytes: 1 << 20 },
        context: () => ({ tenant: tenantContext(h.svc, 'acme', { type: 'tenant' }, 'req-1'), signal: new AbortController().signal }),
      })) ?? 'null',
    ) as RpcResponse;
  const result = (r: RpcResponse): Record<string, unknown> => ('result' in r ? (r.result as Record<string, unknown>) : assert.fail(JSON.stringify(r)));
  const errorCode = (r: RpcResponse): unknown => ('error' in r ? (r.error.data as { code: string }).code : assert.fail('expected an error'));

  const added = result(await call('cron.add', { name: 'hourly', schedule: '0 * * * *', tz: 'Europe/Berlin', action: { type: 'agent', prompt: 'hi' }, missed: 'catchup', retry: { attempts: 1 } }));
  assert.deepEqual(Object.keys(added).sort(), ['id', 'nextRunAt']);
  assert.equal(added.nextRunAt, '2026-05-01T10:00:00.000Z');
  const id = added.id as string;
  assert.equal(errorCode(await call('cron.add', { name: 'b', schedule: { every: '2h' }, action: { type: 'agent', prompt: 'x' } })), 'CRON_LIMIT_JOBS');
  assert.equal(errorCode(await call('cron.add', { name: 'b', schedule: '1 2 3 4 5 6 7', action: { type: 'agent', prompt: 'x' } })), 'CRON_SCHEDULE_INVALID');
  assert.equal(errorCode(await call('cron.get', { id: 'cj_0000000000000000' })), 'CRON_JOB_NOT_FOUND');
  assert.equal(errorCode(await call('cron.add', { name: 'w', schedule: '0 * * * *', action: { type: 'webhook', url: 'ftp://x' } })), 'VALIDATION_FAILED');

  clock.set('2026-05-01T10:00:00Z');
  await h.cron.scheduler.idle();
  result(await call('cron.run', { id }));
  await h.cron.scheduler.idle();
  const runs = result(await call('cron.runs', { id, limit: 10 })).runs as Array<Record<string, unknown>>;
  // The manual run's claim is "now" plus a millisecond (10:00 is taken by the scheduled run): newest first.
  assert.deepEqual(runs.map((r) => [r.scheduledAt, r.outcome, r.trigger]), [
    ['2026-05-01T10:00:00.001Z', 'ok', 'manual'],
    ['2026-05-01T10:00:00.000Z', 'ok', 'schedule'],
  ]);
  for (const r of runs) assert.deepEqual(Object.keys(r).filter((k) => ['scheduledAt', 'startedAt', 'finishedAt', 'outcome'].includes(k)).length, 4);

  result(await call('cron.disable', { id }));
  assert.equal(result(await call('cron.get', { id })).enabled, false);
  result(await call('cron.enable', { id }));
  const status = result(await call('cron.status'));
  assert.equal(status.jobs, 1);
  assert.equal(status.nextRunAt, '2026-05-01T11:00:00.000Z');
  assert.equal(result(await call('cron.update', { id, name: 'renamed' })).name, 'renamed');
  assert.equal((result(await call('cron.list')).jobs as unknown[]).length, 1);
  assert.deepEqual(result(await call('cron.remove', { id })), { id, removed: true });
});
