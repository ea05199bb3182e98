// `openclawmu cron ...` against a real shard's control plane, and cron.* over the shard's real /rpc.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTenant, rpcCall, startTestShard } from '../../test/helpers/shard-fixture.ts';
import { buildProgram } from '../cli.ts';

class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/** Runs the CLI in this process with stdout, stderr and process.exit captured. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const saved = { out: process.stdout.write, err: process.stderr.write, exit: process.exit };
  process.stdout.write = ((chunk: string) => ((stdout += chunk), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => ((stderr += chunk), true)) as typeof process.stderr.write;
  process.exit = ((code?: number) => {
    throw new Exit(code ?? 0);
  }) as typeof process.exit;
  let code = 0;
  try {
    await (await buildProgram('cron')).exitOverride().parseAsync(['node', 'openclawmu', ...args]);
  } catch (err) {
    code = err instanceof Exit ? err.code : 1;
    if (!(err instanceof Exit)) stderr += String(err);
  } finally {
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
    process.exit = saved.exit;
  }
  return { code, stdout, stderr };
}

void test('openclawmu cron add|list|get|run|runs|disable|remove with --json, error codes, and cron.* over /rpc', async (t) => {
  const shard = await startTestShard(t);
  const { token } = await createTenant(shard, 'acme');
  const common = ['--url', shard.url, '--admin-key', shard.adminKey];

  const added = await cli(['cron', 'add', 'acme', '--name', 'ping', '--every', '2h', '--action', 'webhook', '--webhook-url', 'http://127.0.0.1:9/hook', '--retry', '1', ...common, '--json']);
  assert.equal(added.code, 0, added.stderr);
  const { id, nextRunAt } = JSON.parse(added.stdout) as { id: string; nextRunAt: string };
  assert.match(id, /^cj_[0-9a-f]{16}$/);
  assert.ok(Date.parse(nextRunAt) > Date.now());

  const refused = await cli(['cron', 'add', 'acme', '--schedule', '*/30 * * * * *', '--action', 'webhook', '--webhook-url', 'https://example.com/x', ...common]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /^error CRON_LIMIT_INTERVAL: /);
  const noBlob = await cli(['cron', 'add', 'acme', '--schedule', '0 3 * * *', '--action', 'backup', '--keep', '3', ...common]);
  assert.match(noBlob.stderr, /^error BLOB_NOT_CONFIGURED: /);

  const list = await cli(['cron', 'list', 'acme', ...common]);
  assert.equal(list.code, 0);
  assert.match(list.stdout, new RegExp(`${id}\\s+ping\\s+\\{"every":"2h"\\}\\s+webhook\\s+true`));

  // The receiver is loopback: refused by the SSRF guard at connect time; the run ends as an error.
  const ran = await cli(['cron', 'run', 'acme', id, ...common, '--json']);
  assert.equal(ran.code, 0, ran.stderr);
  let runs: Array<{ outcome: string; error?: { code: string } }> = [];
  for (let i = 0; i < 200; i++) {
    runs = (JSON.parse((await cli(['cron', 'runs', 'acme', id, ...common, '--json'])).stdout) as { runs: typeof runs }).runs;
    if (runs[0]?.outcome !== 'running') break;
  }
  assert.equal(runs[0]?.outcome, 'error');
  assert.equal(runs[0]?.error?.code, 'AI_SSRF_BLOCKED');

  assert.equal((await cli(['cron', 'disable', 'acme', id, ...common])).code, 0);
  const got = JSON.parse((await cli(['cron', 'get', 'acme', id, ...common, '--json'])).stdout) as { enabled: boolean; nextRunAt: string | null };
  assert.equal(got.enabled, false);

  // The tenant's own view over JSON-RPC.
  const viaRpc = await rpcCall(shard, token, 'cron.list');
  assert.deepEqual((viaRpc.result as { jobs: Array<{ id: string }> }).jobs.map((j) => j.id), [id]);
  const viaRpcAdd = await rpcCall(shard, token, 'cron.add', { name: 'w', schedule: '0 3 * * *', tz: 'Europe/Berlin', action: { type: 'webhook', url: 'https://example.com/hook', secret: 'a-secret-of-16-chars' } });
  assert.ok(typeof (viaRpcAdd.result as { id?: string }).id === 'string', JSON.stringify(viaRpcAdd));
  // An agent job runs one turn through RunService in its own session cron:<jobId> (default model: echo).
  const agent = await rpcCall(shard, token, 'cron.add', { name: 'a', schedule: '0 3 * * *', action: { type: 'agent', prompt: 'hello from cron' } });
  const agentId = (agent.result as { id: string }).id;
  assert.equal((await cli(['cron', 'run', 'acme', agentId, ...common])).code, 0);
  let agentRuns: Array<{ outcome: string; error?: { code: string } }> = [];
  for (let i = 0; i < 200; i++) {
    agentRuns = ((await rpcCall(shard, token, 'cron.runs', { id: agentId })).result as { runs: typeof agentRuns }).runs;
    if (agentRuns[0]?.outcome !== 'running') break;
  }
  assert.equal(agentRuns[0]?.outcome, 'ok', JSON.stringify(agentRuns));
  const session = await rpcCall(shard, token, 'sessions.get', { sessionId: `cron:${agentId}` });
  assert.ok(session.result !== undefined, JSON.stringify(session));
  const delivered = await rpcCall(shard, token, 'cron.add', { name: 'd', schedule: '0 3 * * *', action: { type: 'agent', prompt: 'x', deliver: { channel: 'tg', to: '1' } } });
  assert.equal(delivered.error?.data?.code, 'CRON_CHANNELS_UNAVAILABLE');

  assert.equal((await cli(['cron', 'remove', 'acme', id, ...common])).code, 0);
  const gone = await cli(['cron', 'get', 'acme', id, ...common, '--json']);
  assert.equal(gone.code, 2);
  assert.equal((JSON.parse(gone.stdout) as { error: { code: string } }).error.code, 'CRON_JOB_NOT_FOUND');
  const metrics = await (await fetch(`${shard.url}/metrics`)).text();
  assert.match(metrics, /openclawmu_cron_runs_total\{outcome="error"\} 1/);
  assert.match(metrics, /openclawmu_cron_runs_total\{outcome="ok"\} 1/);
  assert.match(metrics, /openclawmu_cron_jobs_indexed 2/);
});
