// Contract tests of the providers against the fake upstreams speaking the real wire formats.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeAnthropicUpstream } from '../../../test/fakes/fake-anthropic-upstream.ts';
import { FakeOpenAiUpstream } from '../../../test/fakes/fake-openai-upstream.ts';
import { ProviderConfigSchema } from '../ai-config.ts';
import { AnthropicProvider } from './anthropic-provider.ts';
import { EchoProvider } from './echo-provider.ts';
import { OpenAiProvider } from './openai-provider.ts';
import type { ChatChunk, ChatRequest, Provider, Usage } from './provider.ts';
import { createGuardedAgent } from './ssrf-agent.ts';

const tools = [{ type: 'function' as const, function: { name: 'lookup', description: 'look up', parameters: { type: 'object', properties: { q: { type: 'string' } } } } }];

async function collect(it: AsyncIterable<ChatChunk>): Promise<{ text: string; args: string; name: string | undefined; usage: Usage | undefined; finish: string | undefined }> {
  let text = '';
  let args = '';
  let name: string | undefined;
  let usage: Usage | undefined;
  let finish: string | undefined;
  for await (const c of it) {
    text += c.content ?? '';
    for (const tc of c.toolCalls ?? []) {
      args += tc.arguments ?? '';
      name ??= tc.name;
    }
    usage = c.usage ?? usage;
    finish = c.finishReason ?? finish;
  }
  return { text, args, name, usage, finish };
}

interface Setup {
  provider: Provider;
  close(): Promise<void>;
}

const contracts: { label: string; make(): Promise<Setup> }[] = [
  {
    label: 'openai',
    async make() {
      const fake = await FakeOpenAiUpstream.start({ apiKey: 'sk-test' });
      const cfg = ProviderConfigSchema.parse({ kind: 'openai', baseUrl: fake.baseUrl, apiKey: 'sk-test', allowPrivateNetwork: true });
      const agent = createGuardedAgent({ allowPrivateNetwork: true, connectTimeoutMs: 2000 });
      return { provider: new OpenAiProvider('openai', cfg, agent), close: async () => { await agent.close(); await fake.close(); } };
    },
  },
  {
    label: 'anthropic',
    async make() {
      const fake = await FakeAnthropicUpstream.start({ apiKey: 'sk-ant' });
      const cfg = ProviderConfigSchema.parse({ kind: 'anthropic', baseUrl: fake.url, apiKey: 'sk-ant', allowPrivateNetwork: true });
      const agent = createGuardedAgent({ allowPrivateNetwork: true, connectTimeoutMs: 2000 });
      return { provider: new AnthropicProvider('anthropic', cfg, agent), close: async () => { await agent.close(); await fake.close(); } };
    },
  },
  { label: 'echo', make: () => Promise.resolve({ provider: new EchoProvider(), close: () => Promise.resolve() }) },
];

for (const c of contracts) {
  void test(`provider contract (${c.label}): non-stream and stream agree, usage reported`, async (t) => {
    const s = await c.make();
    t.after(() => s.close());
    const req: ChatRequest = { model: 'm', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hello canary-42 world' }] };
    const r = await s.provider.chat(req, new AbortController().signal);
    assert.match(r.content ?? '', /hello canary-42 world$/);
    assert.equal(r.finishReason, 'stop');
    assert.ok(r.usage.input > 0 && r.usage.output > 0);
    const st = await collect(s.provider.chatStream(req, new AbortController().signal));
    assert.equal(st.text, r.content);
    assert.equal(st.finish, 'stop');
    assert.deepEqual(st.usage, r.usage);
  });

  void test(`provider contract (${c.label}): max_tokens truncates with finish_reason length`, async (t) => {
    const s = await c.make();
    t.after(() => s.close());
    const r = await s.provider.chat({ model: 'm', max_tokens: 2, messages: [{ role: 'user', content: 'one two three four' }] }, new AbortController().signal);
    assert.equal(r.finishReason, 'length');
    assert.equal(r.usage.output, 2);
  });
}

for (const c of contracts.filter((x) => x.label !== 'echo')) {
  void test(`provider contract (${c.label}): tool calls round-trip, streamed and not`, async (t) => {
    const s = await c.make();
    t.after(() => s.close());
    const req: ChatRequest = { model: 'm', tools, messages: [{ role: 'user', content: 'find cats' }] };
    const r = await s.provider.chat(req, new AbortController().signal);
    assert.equal(r.finishReason, 'tool_calls');
    const call = r.toolCalls[0];
    assert.ok(call);
    assert.equal(call.function.name, 'lookup');
    assert.deepEqual(JSON.parse(call.function.arguments), { q: 'find cats' });
    const st = await collect(s.provider.chatStream(req, new AbortController().signal));
    assert.equal(st.name, 'lookup');
    assert.deepEqual(JSON.parse(st.args), { q: 'find cats' });
    assert.equal(st.finish, 'tool_calls');
    // the tool result goes back and the model answers with it
    const follow = await s.provider.chat(
      { model: 'm', tools, messages: [...req.messages, { role: 'assistant', content: null, tool_calls: [call] }, { role: 'tool', tool_call_id: call.id, content: 'three cats' }] },
      new AbortController().signal,
    );
    assert.equal(follow.content, 'fake: tool said three cats');
  });
}

void test('anthropic: system, cache read/write usage and the request shape on the wire', async (t) => {
  const fake = await FakeAnthropicUpstream.start({ cacheReadTokens: 7, cacheWriteTokens: 3 });
  const agent = createGuardedAgent({ allowPrivateNetwork: true, connectTimeoutMs: 2000 });
  t.after(async () => { await agent.close(); await fake.close(); });
  const p = new AnthropicProvider('anthropic', ProviderConfigSchema.parse({ kind: 'anthropic', baseUrl: fake.url, allowPrivateNetwork: true, defaultMaxTokens: 99 }), agent);
  const r = await p.chat({ model: 'claude-x', messages: [{ role: 'system', content: 'sys prompt' }, { role: 'user', content: 'hi there' }] }, new AbortController().signal);
  assert.equal(r.usage.cacheRead, 7);
  assert.equal(r.usage.cacheWrite, 3);
  const sent = fake.requests[0]?.body;
  assert.equal(sent?.['system'], 'sys prompt');
  assert.equal(sent?.['max_tokens'], 99);
  assert.equal(fake.requests[0]?.headers['anthropic-version'], '2023-06-01');
  const st = await collect(p.chatStream({ model: 'claude-x', messages: [{ role: 'user', content: 'hi there' }] }, new AbortController().signal));
  assert.equal(st.usage?.cacheRead, 7);
  assert.equal(st.usage?.cacheWrite, 3);
});

void test('openai: cached and reasoning tokens are split out of prompt/completion', async (t) => {
  const fake = await FakeOpenAiUpstream.start({ cachedTokens: 2, reasoningTokens: 5 });
  const agent = createGuardedAgent({ allowPrivateNetwork: true, connectTimeoutMs: 2000 });
  t.after(async () => { await agent.close(); await fake.close(); });
  const p = new OpenAiProvider('openai', ProviderConfigSchema.parse({ kind: 'openai', baseUrl: fake.baseUrl, allowPrivateNetwork: true }), agent);
  const r = await p.chat({ model: 'gpt', messages: [{ role: 'user', content: 'a b c d' }] }, new AbortController().signal);
  assert.deepEqual(r.usage, { input: 2, cacheRead: 2, cacheWrite: 0, output: 5, reasoning: 5 });
});

void test('retries happen before the first byte only', async (t) => {
  const fake = await FakeOpenAiUpstream.start();
  const agent = createGuardedAgent({ allowPrivateNetwork: true, connectTimeoutMs: 2000 });
  t.after(async () => { await agent.close(); await fake.close(); });
  const p = new OpenAiProvider('openai', ProviderConfigSchema.parse({ kind: 'openai', baseUrl: fake.baseUrl, allowPrivateNetwork: true, maxRetries: 2 }), agent);
  fake.setBehaviour({ failTimes: 2, failStatus: 503 });
  const r = await p.chat({ model: 'gpt', messages: [{ role: 'user', content: 'x' }] }, new AbortController().signal);
  assert.equal(r.content, 'fake: x');
  assert.equal(fake.requests.length, 3);
  // three failures exceed two retries: the error carries the upstream status
  fake.setBehaviour({ failTimes: 3, failStatus: 500 });
  await assert.rejects(p.chat({ model: 'gpt', messages: [{ role: 'user', content: 'x' }] }, new AbortController().signal), (e: unknown) => (e as { code?: string }).code === 'AI_PROVIDER_ERROR');
  // a stream that breaks after it started is not retried
  const before = fake.requests.length;
  fake.setBehaviour({ failTimes: 0, dropAfterChunks: 1 });
  await assert.rejects(collect(p.chatStream({ model: 'gpt', messages: [{ role: 'user', content: 'a b c' }] }, new AbortController().signal)), (e: unknown) => (e as { code?: string }).code === 'AI_PROVIDER_ERROR');
  assert.equal(fake.requests.length, before + 1);
});

void test('a slow upstream times out with AI_PROVIDER_TIMEOUT', async (t) => {
  const fake = await FakeOpenAiUpstream.start();
  const agent = createGuardedAgent({ allowPrivateNetwork: true, connectTimeoutMs: 2000 });
  t.after(async () => { await agent.close(); await fake.close(); });
  fake.setBehaviour({ headersDelayMs: 1500 }); // undici's timers have a coarse (~0.5 s) resolution
  const p = new OpenAiProvider('openai', ProviderConfigSchema.parse({ kind: 'openai', baseUrl: fake.baseUrl, allowPrivateNetwork: true, timeoutMs: 100, maxRetries: 0 }), agent);
  await assert.rejects(p.chat({ model: 'gpt', messages: [{ role: 'user', content: 'x' }] }, new AbortController().signal), (e: unknown) => (e as { code?: string }).code === 'AI_PROVIDER_TIMEOUT');
});

void test('aborting a stream reaches the upstream, and the pool serves the next request cleanly', async (t) => {
  for (const kind of ['openai', 'anthropic'] as const) {
    const fake = kind === 'openai' ? await FakeOpenAiUpstream.start() : await FakeAnthropicUpstream.start();
    const agent = createGuardedAgent({ allowPrivateNetwork: true, connectTimeoutMs: 2000 });
    t.after(async () => { await agent.close(); await fake.close(); });
    const cfg = ProviderConfigSchema.parse({ kind, baseUrl: kind === 'openai' ? `${fake.url}/v1` : fake.url, allowPrivateNetwork: true });
    const p = kind === 'openai' ? new OpenAiProvider(kind, cfg, agent) : new AnthropicProvider(kind, cfg, agent);
    fake.setBehaviour({ hangAfterChunks: 1 });
    const ac = new AbortController();
    const aborted = fake.nextClientAbort();
    const it = p.chatStream({ model: 'm', messages: [{ role: 'user', content: 'first stream words' }] }, ac.signal)[Symbol.asyncIterator]();
    const first = await it.next();
    assert.equal(first.done, false);
    ac.abort();
    await assert.rejects(it.next());
    await aborted;
    assert.equal(fake.clientAborts, 1);
    fake.setBehaviour({ hangAfterChunks: null });
    const r = await p.chat({ model: 'm', messages: [{ role: 'user', content: 'second request' }] }, new AbortController().signal);
    assert.equal(r.content, 'fake: second request');
  }
});

void test('an upstream error that echoes the API key reaches the caller redacted', async (t) => {
  const { createServer } = await import('node:http');
  const server = createServer((req, res) => {
    res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `bad key ${String(req.headers['authorization']).slice(7)}` } }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const agent = createGuardedAgent({ allowPrivateNetwork: true, connectTimeoutMs: 2000 });
  t.after(async () => { await agent.close(); server.close(); });
  const port = (server.address() as { port: number }).port;
  const p = new OpenAiProvider('openai', ProviderConfigSchema.parse({ kind: 'openai', baseUrl: `http://127.0.0.1:${port}/v1`, apiKey: 'sk-super-secret-value', allowPrivateNetwork: true, maxRetries: 0 }), agent);
  await assert.rejects(p.chat({ model: 'm', messages: [{ role: 'user', content: 'x' }] }, new AbortController().signal), (e: unknown) => {
    const text = JSON.stringify({ m: (e as Error).message, d: (e as { details?: unknown }).details });
    assert.ok(!text.includes('sk-super-secret-value'), text);
    assert.match(text, /\[redacted\]/);
    return true;
  });
});
