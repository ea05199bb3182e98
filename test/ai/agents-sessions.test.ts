// Agents and sessions: CRUD and files over JSON-RPC, `model: "agent:<name>"` with session history
// and a bounded tool loop, chat.send (idempotent, one run per session, events over /ws), abort.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import OpenAI from 'openai';
import WebSocket from 'ws';
import { rpcCall } from '../helpers/shard-fixture.ts';
import { startAiFixture } from './ai-fixture.ts';

function ok<T>(r: { result?: unknown; error?: { message: string; data?: { code: string } } }): T {
  if (r.error !== undefined) throw new Error(`rpc error ${r.error.data?.code ?? ''}: ${r.error.message}`);
  return r.result as T;
}

void test('agents and files over JSON-RPC; agent:<name> keeps session history and runs its tools', async (t) => {
  const f = await startAiFixture(t);
  const { token, client } = await f.tenant('acme');
  ok(await rpcCall(f.shard, token, 'agents.create', { name: 'helper', model: 'openai/gpt-fake', systemPrompt: 'You are helper.', tools: ['files_read'] }));
  const dup = await rpcCall(f.shard, token, 'agents.create', { name: 'helper', model: 'echo' });
  assert.equal(dup.error?.data?.code, 'AI_AGENT_EXISTS');
  ok(await rpcCall(f.shard, token, 'agents.files.set', { name: 'helper', path: 'notes.md', content: 'the canary is blue' }));
  const bad = await rpcCall(f.shard, token, 'agents.files.set', { name: 'helper', path: '../escape', content: 'x' });
  assert.equal(bad.error?.data?.code, 'VALIDATION_FAILED');
  assert.deepEqual(ok<{ files: { path: string }[] }>(await rpcCall(f.shard, token, 'agents.files.list', { name: 'helper' })).files.map((x) => x.path), ['notes.md']);
  assert.equal(ok<{ content: string }>(await rpcCall(f.shard, token, 'agents.files.get', { name: 'helper', path: 'notes.md' })).content, 'the canary is blue');

  // the fake model calls the first tool with the user text; files_read returns the file
  const r = await client.chat.completions.create({ model: 'agent:helper', messages: [{ role: 'user', content: 'notes.md' }] }, { headers: { 'x-openclawmu-session': 'conv-1' } });
  assert.equal(r.choices[0]?.message.content, 'fake: tool said the canary is blue');
  const upstreamFirst = f.openaiFake.requests.at(-2)?.body as { messages: { role: string; content: string }[]; tools: { function: { name: string } }[] };
  assert.equal(upstreamFirst.messages[0]?.content, 'You are helper.');
  assert.equal(upstreamFirst.tools[0]?.function.name, 'files_read');

  // a plain agent (no tools): the second turn carries the first one as history
  ok(await rpcCall(f.shard, token, 'agents.create', { name: 'plain', model: 'openai/gpt-fake', systemPrompt: 'Plain.' }));
  await client.chat.completions.create({ model: 'agent:plain', user: 'alice', messages: [{ role: 'user', content: 'first turn' }] });
  const second = await client.chat.completions.create({ model: 'agent:plain', user: 'alice', messages: [{ role: 'user', content: 'second turn' }] });
  assert.equal(second.choices[0]?.message.content, 'fake: second turn');
  const seen = (f.openaiFake.requests.at(-1)?.body as { messages: { role: string; content: string }[] }).messages.map((m) => `${m.role}:${m.content}`);
  assert.deepEqual(seen, ['system:Plain.', 'user:first turn', 'assistant:fake: first turn', 'user:second turn']);
  const hist = ok<{ messages: { role: string; content: string }[] }>(await rpcCall(f.shard, token, 'chat.history', { sessionId: 'user:alice' }));
  assert.deepEqual(hist.messages.map((m) => m.role), ['user', 'assistant', 'user', 'assistant']);

  // sessions.list pages, get, reset, delete
  const page1 = ok<{ sessions: { id: string }[]; nextCursor: string | null }>(await rpcCall(f.shard, token, 'sessions.list', { limit: 1 }));
  assert.equal(page1.sessions.length, 1);
  assert.ok(page1.nextCursor !== null);
  const page2 = ok<{ sessions: { id: string }[] }>(await rpcCall(f.shard, token, 'sessions.list', { limit: 10, cursor: page1.nextCursor }));
  assert.deepEqual(new Set([...page1.sessions, ...page2.sessions].map((s) => s.id)), new Set(['conv-1', 'user:alice']));
  assert.equal(ok<{ messageCount: number }>(await rpcCall(f.shard, token, 'sessions.get', { sessionId: 'user:alice' })).messageCount, 4);
  ok(await rpcCall(f.shard, token, 'sessions.reset', { sessionId: 'user:alice' }));
  assert.equal(ok<{ messageCount: number }>(await rpcCall(f.shard, token, 'sessions.get', { sessionId: 'user:alice' })).messageCount, 0);
  ok(await rpcCall(f.shard, token, 'sessions.delete', { sessionId: 'user:alice' }));
  assert.equal((await rpcCall(f.shard, token, 'sessions.get', { sessionId: 'user:alice' })).error?.data?.code, 'AI_SESSION_NOT_FOUND');

  // the tool loop is bounded
  ok(await rpcCall(f.shard, token, 'agents.update', { name: 'helper', maxToolSteps: 0 }));
  await assert.rejects(client.chat.completions.create({ model: 'agent:helper', messages: [{ role: 'user', content: 'notes.md' }] }), (e: unknown) => e instanceof OpenAI.InternalServerError && e.code === 'AI_TOOL_LOOP_LIMIT');
  ok(await rpcCall(f.shard, token, 'agents.delete', { name: 'helper' }));
  await assert.rejects(client.chat.completions.create({ model: 'agent:helper', messages: [{ role: 'user', content: 'x' }] }), (e: unknown) => e instanceof OpenAI.NotFoundError);
});

void test('chat.send: idempotent, one run at a time per session (the second sees the first), abort', async (t) => {
  const f = await startAiFixture(t);
  const { token } = await f.tenant('acme');
  f.openaiFake.setBehaviour({ headersDelayMs: 150 });
  const [a, b] = await Promise.all([
    rpcCall(f.shard, token, 'chat.send', { sessionId: 'q', model: 'openai/gpt-fake', message: 'one', idempotencyKey: 'k-1' }),
    rpcCall(f.shard, token, 'chat.send', { sessionId: 'q', model: 'openai/gpt-fake', message: 'two', idempotencyKey: 'k-2' }),
  ]);
  const ra = ok<{ runId: string; message: { content: string } }>(a);
  const rb = ok<{ runId: string; message: { content: string } }>(b);
  assert.equal(ra.message.content, 'fake: one');
  assert.equal(rb.message.content, 'fake: two');
  const second = f.openaiFake.requests.at(-1)?.body as { messages: { content: string }[] };
  assert.deepEqual(second.messages.map((m) => m.content), ['one', 'fake: one', 'two']);
  // the same key replays the same run without calling the model again
  const before = f.openaiFake.requests.length;
  const again = ok<{ runId: string; replayed: boolean; message: { content: string } }>(await rpcCall(f.shard, token, 'chat.send', { sessionId: 'q', model: 'openai/gpt-fake', message: 'one', idempotencyKey: 'k-1' }));
  assert.equal(again.runId, ra.runId);
  assert.equal(again.replayed, true);
  assert.equal(again.message.content, 'fake: one');
  assert.equal(f.openaiFake.requests.length, before);
  const conflict = await rpcCall(f.shard, token, 'chat.send', { sessionId: 'q', model: 'openai/gpt-fake', message: 'different', idempotencyKey: 'k-1' });
  assert.equal(conflict.error?.data?.code, 'AI_IDEMPOTENCY_CONFLICT');

  // abort: a slow upstream, then chat.abort from another call
  f.openaiFake.setBehaviour({ headersDelayMs: 3000 });
  const slow = rpcCall(f.shard, token, 'chat.send', { sessionId: 'slow', model: 'openai/gpt-fake', message: 'wait', idempotencyKey: 'k-3' });
  const deadline = Date.now() + 5000;
  let aborted = false;
  while (!aborted && Date.now() < deadline) {
    aborted = ok<{ aborted: boolean }>(await rpcCall(f.shard, token, 'chat.abort', { sessionId: 'slow' })).aborted;
  }
  assert.ok(aborted);
  const res = ok<{ status: string }>(await slow);
  assert.equal(res.status, 'aborted');
  f.openaiFake.setBehaviour({ headersDelayMs: 0 });
});

void test('chat.send over /ws streams chat.event deltas and a final event', async (t) => {
  const f = await startAiFixture(t);
  const { token } = await f.tenant('acme');
  const ws = new WebSocket(`${f.shard.url.replace('http', 'ws')}/ws`, ['openclawmu.v1'], { headers: { authorization: `Bearer ${token}` } });
  t.after(() => ws.close());
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const events: { state: string; delta?: string }[] = [];
  const reply = new Promise<{ result?: { message: { content: string } } }>((resolve) => {
    ws.on('message', (raw) => {
      const m = JSON.parse(String(raw)) as { id?: number; method?: string; params?: { state: string; delta?: string }; result?: { message: { content: string } } };
      if (m.method === 'chat.event' && m.params !== undefined) events.push(m.params);
      if (m.id === 7) resolve(m);
    });
  });
  ws.send(JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'chat.send', params: { model: 'anthropic/claude-fake', message: 'stream me please', idempotencyKey: 'w1' } }));
  const r = await reply;
  assert.equal(r.result?.message.content, 'fake: stream me please');
  assert.equal(events.filter((e) => e.state === 'delta').map((e) => e.delta).join(''), 'fake: stream me please');
  assert.equal(events.at(-1)?.state, 'final');
});

void test('concurrentSessions: a second session is refused while one runs; the same session queues', async (t) => {
  const f = await startAiFixture(t);
  const { token } = await f.tenant('acme', { concurrentSessions: 1 });
  f.openaiFake.setBehaviour({ headersDelayMs: 400 });
  const first = rpcCall(f.shard, token, 'chat.send', { sessionId: 'x', model: 'openai/gpt-fake', message: 'first', idempotencyKey: 'a' });
  // wait until the first run is really in flight upstream
  const deadline = Date.now() + 5000;
  while (f.openaiFake.requests.length === 0 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
  const other = await rpcCall(f.shard, token, 'chat.send', { sessionId: 'y', model: 'openai/gpt-fake', message: 'other', idempotencyKey: 'b' });
  assert.equal(other.error?.data?.code, 'QUOTA_CONCURRENT_SESSIONS');
  const same = rpcCall(f.shard, token, 'chat.send', { sessionId: 'x', model: 'openai/gpt-fake', message: 'second', idempotencyKey: 'c' });
  assert.equal(ok<{ message: { content: string } }>(await first).message.content, 'fake: first');
  assert.equal(ok<{ message: { content: string } }>(await same).message.content, 'fake: second');
  f.openaiFake.setBehaviour({ headersDelayMs: 0 });
  // once nothing runs, another session is admitted
  assert.equal(ok<{ message: { content: string } }>(await rpcCall(f.shard, token, 'chat.send', { sessionId: 'y', model: 'openai/gpt-fake', message: 'later', idempotencyKey: 'd' })).message.content, 'fake: later');
});

void test('an agent with memory on gets memory_save / memory_search over the tenant memory (offline, echo model)', async (t) => {
  const f = await startAiFixture(t);
  const { token, client } = await f.tenant('acme');
  ok(await rpcCall(f.shard, token, 'agents.create', { name: 'rememberer', model: 'echo', memory: true }));
  ok(await rpcCall(f.shard, token, 'agents.create', { name: 'forgetful', model: 'echo', memory: false }));
  const saved = await client.chat.completions.create({ model: 'agent:rememberer', messages: [{ role: 'user', content: '/tool memory_save {"text":"the canary is teal","title":"canary"}' }] });
  assert.match(saved.choices[0]?.message.content ?? '', /"saved":true/);
  const found = await client.chat.completions.create({ model: 'agent:rememberer', messages: [{ role: 'user', content: '/tool memory_search {"query":"canary"}' }] });
  assert.match(found.choices[0]?.message.content ?? '', /the canary is teal/);
  // without memory the tool is not offered, so the echo model does not call it
  const none = await client.chat.completions.create({ model: 'agent:forgetful', messages: [{ role: 'user', content: '/tool memory_search {"query":"canary"}' }] });
  assert.equal(none.choices[0]?.finish_reason, 'stop');
  assert.doesNotMatch(none.choices[0]?.message.content ?? '', /teal/);
});
