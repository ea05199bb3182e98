// Isolation: tenant B never sees tenant A's agents, files, sessions, transcripts or usage, by any
// route of the AI surface (canary strings searched in every answer B gets).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { rpcCall } from '../helpers/shard-fixture.ts';
import { startAiFixture } from './ai-fixture.ts';

const CANARY = 'CANARY-A-7f3c9e';

void test('tenant B sees none of tenant A by any AI route, even with the same names and session ids', async (t) => {
  const f = await startAiFixture(t);
  const a = await f.tenant('tenant-a');
  const b = await f.tenant('tenant-b');
  // A: an agent, a file, a session with a transcript, ledger rows — all carrying the canary
  await rpcCall(f.shard, a.token, 'agents.create', { name: 'shared', model: 'openai/gpt-fake', systemPrompt: `secret ${CANARY}` });
  await rpcCall(f.shard, a.token, 'agents.create', { name: `only-a`, model: 'echo' });
  await rpcCall(f.shard, a.token, 'agents.files.set', { name: 'shared', path: 'notes.md', content: CANARY });
  await a.client.chat.completions.create({ model: 'agent:shared', messages: [{ role: 'user', content: `hello ${CANARY}` }] }, { headers: { 'x-openclawmu-session': 'same-id' } });
  await rpcCall(f.shard, a.token, 'chat.send', { sessionId: `a-${CANARY}`, model: 'echo', message: CANARY, idempotencyKey: 'k' });
  // B: the same agent name and session id, its own content
  await rpcCall(f.shard, b.token, 'agents.create', { name: 'shared', model: 'openai/gpt-fake', systemPrompt: 'b prompt' });
  await b.client.chat.completions.create({ model: 'agent:shared', messages: [{ role: 'user', content: 'hello from b' }] }, { headers: { 'x-openclawmu-session': 'same-id' } });
  const upstreamSawB = JSON.stringify(f.openaiFake.requests.at(-1)?.body);
  assert.ok(!upstreamSawB.includes(CANARY), 'B’s run got none of A’s prompt or history');

  const answers: string[] = [];
  const grab = async (p: Promise<unknown>): Promise<void> => {
    answers.push(JSON.stringify(await p));
  };
  await grab(b.client.models.list().then((p) => p.data));
  for (const [method, params] of [
    ['agents.list', {}],
    ['agents.files.list', { name: 'shared' }],
    ['agents.files.get', { name: 'shared', path: 'notes.md' }],
    ['agents.files.list', { name: 'only-a' }],
    ['sessions.list', { limit: 500 }],
    ['sessions.get', { sessionId: 'same-id' }],
    ['chat.history', { sessionId: 'same-id' }],
    ['tenants.usage', {}],
    ['tenants.quota.status', {}],
    ['tenants.usage.history', { days: 2 }],
  ] as const) {
    await grab(rpcCall(f.shard, b.token, method, params));
  }
  const notFound = await rpcCall(f.shard, b.token, 'chat.history', { sessionId: `a-${CANARY}` });
  assert.equal(notFound.error?.data?.code, 'AI_SESSION_NOT_FOUND'); // (the error echoes only B's own input)
  assert.equal((await rpcCall(f.shard, b.token, 'sessions.get', { sessionId: `a-${CANARY}` })).error?.data?.code, 'AI_SESSION_NOT_FOUND');
  await assert.rejects(b.client.chat.completions.create({ model: 'agent:only-a', messages: [{ role: 'user', content: 'x' }] }));
  for (const path of ['/v1/tenants/tenant-b/usage', '/v1/tenants/tenant-b/billing', '/v1/tenants/tenant-b/billing?format=csv']) {
    const res = await f.shard.admin(path);
    assert.equal(res.status, 200, path);
    answers.push(await res.text());
  }
  for (const text of answers) assert.ok(!text.includes(CANARY), text.slice(0, 300));
  // and B's own usage counts only B's calls
  const usage = (await rpcCall(f.shard, b.token, 'tenants.usage', {})).result as { day: { requests: number } };
  assert.equal(usage.day.requests, 1);
  // the canary is really there for A (the searches above could not pass vacuously)
  const aHist = JSON.stringify(await rpcCall(f.shard, a.token, 'chat.history', { sessionId: 'same-id' }));
  assert.ok(aHist.includes(CANARY));
  const aCsv = await (await f.shard.admin('/v1/tenants/tenant-a/billing?format=csv')).text();
  assert.ok(aCsv.includes(`a-${CANARY}`));
  // a tenant token cannot read the control plane's billing
  const denied = await fetch(`${f.shard.url}/v1/tenants/tenant-a/billing`, { headers: { authorization: `Bearer ${b.token}` } });
  assert.equal(denied.status, 403);
});

void test('billing CSV has stable columns, one row per call, and JSON totals that match', async (t) => {
  const f = await startAiFixture(t);
  const a = await f.tenant('acme');
  await a.client.chat.completions.create({ model: 'echo', messages: [{ role: 'user', content: 'one two' }] });
  await a.client.chat.completions.create({ model: 'anthropic/claude-fake', messages: [{ role: 'user', content: 'three' }] });
  const csv = await (await f.shard.admin('/v1/tenants/acme/billing?format=csv')).text();
  const lines = csv.trim().split('\r\n');
  assert.equal(
    lines[0],
    'timestamp,tenant_id,request_id,session_id,kind,model,status,input_tokens,cache_read_tokens,cache_write_tokens,output_tokens,reasoning_tokens,tool_calls,rate_input_usd_per_mtok,rate_output_usd_per_mtok,rate_cache_read_usd_per_mtok,rate_cache_write_usd_per_mtok,rate_reasoning_usd_per_mtok,cost_usd',
  );
  assert.equal(lines.length, 3);
  const json = (await (await f.shard.admin('/v1/tenants/acme/billing?format=json')).json()) as { totals: { requests: number; costUsd: number; cacheReadTokens: number }; rows: { costUsd: number }[] };
  assert.equal(json.totals.requests, 2);
  assert.equal(json.totals.cacheReadTokens, 4);
  assert.ok(Math.abs(json.totals.costUsd - json.rows.reduce((n, r) => n + r.costUsd, 0)) < 1e-12);
  const bad = await f.shard.admin('/v1/tenants/acme/billing?from=yesterday');
  assert.equal(bad.status, 400);
  const none = await f.shard.admin('/v1/tenants/ghost/usage');
  assert.equal(none.status, 404);
});

void test('property: whatever sessions and agents two tenants create (same names included), each lists exactly its own', async (t) => {
  const f = await startAiFixture(t);
  let n = 0;
  const name = fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,8}$/);
  await fc.assert(
    fc.asyncProperty(fc.uniqueArray(name, { maxLength: 4 }), fc.uniqueArray(name, { maxLength: 4 }), fc.uniqueArray(name, { maxLength: 3 }), fc.uniqueArray(name, { maxLength: 3 }), async (sa, sb, aa, ab) => {
      n++;
      const a = await f.tenant(`pa-${n}`);
      const b = await f.tenant(`pb-${n}`);
      for (const [tk, sessions, agents, tag] of [[a.token, sa, aa, 'A'], [b.token, sb, ab, 'B']] as const) {
        for (const ag of agents) await rpcCall(f.shard, tk, 'agents.create', { name: ag, model: 'echo', systemPrompt: `${tag}-${ag}` });
        for (const s of sessions) await rpcCall(f.shard, tk, 'chat.send', { sessionId: s, model: 'echo', message: `${tag} says ${s}`, idempotencyKey: 'k' });
      }
      for (const [tk, sessions, agents, tag] of [[a.token, sa, aa, 'A'], [b.token, sb, ab, 'B']] as const) {
        const listed = ((await rpcCall(f.shard, tk, 'sessions.list', { limit: 500 })).result as { sessions: { id: string }[] }).sessions.map((s) => s.id).sort();
        assert.deepEqual(listed, [...sessions].sort());
        const ags = ((await rpcCall(f.shard, tk, 'agents.list', {})).result as { agents: { name: string; systemPrompt: string }[] }).agents;
        assert.deepEqual(ags.map((x) => x.name).sort(), [...agents].sort());
        assert.ok(ags.every((x) => x.systemPrompt.startsWith(`${tag}-`)));
        for (const s of sessions) {
          const h = (await rpcCall(f.shard, tk, 'chat.history', { sessionId: s })).result as { messages: { content: string }[] };
          assert.ok(h.messages.every((m) => m.content.includes(`${tag} says`)), JSON.stringify(h));
        }
      }
    }),
    { numRuns: 8 },
  );
});
