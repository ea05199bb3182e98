// `openclawmu billing report <id> [--csv]` and `openclawmu billing summary` against a real shard.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { startAiFixture } from './ai-fixture.ts';

const run = promisify(execFile);
const CLI = new URL('../../ops/bin/openclawmu.mjs', import.meta.url).pathname;

void test('billing report (table, --json, --csv) and billing summary', async (t) => {
  const f = await startAiFixture(t);
  const a = await f.tenant('acme');
  const b = await f.tenant('bravo');
  await a.client.chat.completions.create({ model: 'echo', messages: [{ role: 'user', content: 'one two three' }] });
  await a.client.chat.completions.create({ model: 'openai/gpt-fake', messages: [{ role: 'user', content: 'four' }] });
  await b.client.chat.completions.create({ model: 'echo', messages: [{ role: 'user', content: 'five' }] });
  const common = ['--url', f.shard.url, '--admin-key', f.shard.adminKey, '--data', f.shard.dataDir];
  const csv = await run(process.execPath, [CLI, 'billing', 'report', 'acme', '--csv', ...common]);
  const lines = csv.stdout.trim().split('\r\n');
  assert.match(lines[0] ?? '', /^timestamp,tenant_id,request_id,session_id,kind,model,status,input_tokens,/);
  assert.equal(lines.length, 3);
  assert.ok(lines.slice(1).every((l) => l.split(',')[1] === 'acme'));
  const json = JSON.parse((await run(process.execPath, [CLI, 'billing', 'report', 'acme', '--json', ...common])).stdout) as { totals: { requests: number } };
  assert.equal(json.totals.requests, 2);
  const human = (await run(process.execPath, [CLI, 'billing', 'report', 'acme', ...common])).stdout;
  assert.match(human, /openai\/gpt-fake/);
  assert.match(human, /TOTAL\s+2\s/);
  const summary = JSON.parse((await run(process.execPath, [CLI, 'billing', 'summary', '--json', ...common])).stdout) as { tenants: { id: string; requests: number }[] };
  assert.deepEqual(summary.tenants.map((x) => [x.id, x.requests]), [['acme', 2], ['bravo', 1]]);
  await assert.rejects(run(process.execPath, [CLI, 'billing', 'report', 'ghost', '--json', ...common]), (e: unknown) => /SHARD_TENANT_NOT_FOUND/.test(String((e as { stdout?: string }).stdout)));
});
