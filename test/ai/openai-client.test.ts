// The official `openai` client, unchanged, against a shard: chat (stream and not), tools,
// responses, models, embeddings and errors, over fake OpenAI and Anthropic upstreams.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import OpenAI from 'openai';
import { startAiFixture } from './ai-fixture.ts';

const MODELS = ['openai/gpt-fake', 'anthropic/claude-fake', 'echo', 'fast', 'smart'];
const tools: OpenAI.Chat.Completions.ChatCompletionTool[] = [
  { type: 'function', function: { name: 'lookup', description: 'look something up', parameters: { type: 'object', properties: { q: { type: 'string' } } } } },
];

void test('chat completions, non-stream and stream with include_usage, for every kind of model', async (t) => {
  const f = await startAiFixture(t);
  const { client } = await f.tenant('acme');
  for (const model of MODELS) {
    const r = await client.chat.completions.create({ model, messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hello there' }] });
    assert.equal(r.object, 'chat.completion');
    assert.equal(r.model, model);
    assert.match(r.choices[0]?.message.content ?? '', /: hello there$/, model);
    assert.ok((r.usage?.prompt_tokens ?? 0) > 0 && (r.usage?.completion_tokens ?? 0) > 0, model);
    const stream = await client.chat.completions.create({ model, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hello there' }] });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined;
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text, r.choices[0]?.message.content, model);
    assert.equal(finish, 'stop');
    assert.equal(usage?.total_tokens, r.usage?.total_tokens, model);
  }
  // the upstream saw the operator's key, never the tenant token
  assert.equal(f.openaiFake.requests.at(-1)?.headers['authorization'], 'Bearer sk-upstream-openai');
  assert.equal(f.anthropicFake.requests.at(-1)?.headers['x-api-key'], 'sk-upstream-anthropic');
});

void test('tools and tool calls pass through, streamed and not, OpenAI and Anthropic upstreams', async (t) => {
  const f = await startAiFixture(t);
  const { client } = await f.tenant('acme');
  for (const model of ['openai/gpt-fake', 'anthropic/claude-fake']) {
    const r = await client.chat.completions.create({ model, tools, messages: [{ role: 'user', content: 'find cats' }] });
    const call = r.choices[0]?.message.tool_calls?.[0];
    assert.equal(r.choices[0]?.finish_reason, 'tool_calls');
    assert.ok(call !== undefined && call.type === 'function');
    assert.equal(call.function.name, 'lookup');
    assert.deepEqual(JSON.parse(call.function.arguments), { q: 'find cats' });
    const stream = client.chat.completions.stream({ model, tools, messages: [{ role: 'user', content: 'find cats' }] });
    const final = await stream.finalChatCompletion();
    const sc = final.choices[0]?.message.tool_calls?.[0];
    assert.ok(sc !== undefined && sc.type === 'function');
    assert.equal(sc.function.name, 'lookup');
    assert.deepEqual(JSON.parse(sc.function.arguments), { q: 'find cats' });
    const follow = await client.chat.completions.create({
      model,
      tools,
      messages: [{ role: 'user', content: 'find cats' }, { role: 'assistant', content: null, tool_calls: [call] }, { role: 'tool', tool_call_id: call.id, content: '3 cats' }],
    });
    assert.equal(follow.choices[0]?.message.content, 'fake: tool said 3 cats');
  }
});

void test('responses API, non-stream and stream, with a function tool', async (t) => {
  const f = await startAiFixture(t);
  const { client } = await f.tenant('acme');
  const r = await client.responses.create({ model: 'openai/gpt-fake', instructions: 'be brief', input: 'say hi' });
  assert.equal(r.output_text, 'fake: say hi');
  assert.ok((r.usage?.total_tokens ?? 0) > 0);
  const stream = await client.responses.create({ model: 'anthropic/claude-fake', input: [{ role: 'user', content: 'say hi' }], stream: true });
  let delta = '';
  let completed: OpenAI.Responses.Response | undefined;
  for await (const ev of stream) {
    if (ev.type === 'response.output_text.delta') delta += ev.delta;
    if (ev.type === 'response.completed') completed = ev.response;
  }
  assert.equal(delta, 'fake: say hi');
  assert.equal(completed?.output_text ?? (completed?.output[0] as { content?: { text: string }[] } | undefined)?.content?.[0]?.text, 'fake: say hi');
  const withTool = await client.responses.create({ model: 'openai/gpt-fake', input: 'find dogs', tools: [{ type: 'function', name: 'lookup', parameters: { type: 'object', properties: {} }, strict: false }] });
  const fc = withTool.output.find((o) => o.type === 'function_call');
  assert.ok(fc !== undefined && fc.type === 'function_call');
  assert.equal(fc.name, 'lookup');
  const after = await client.responses.create({
    model: 'openai/gpt-fake',
    input: [{ role: 'user', content: 'find dogs' }, { type: 'function_call', call_id: fc.call_id, name: fc.name, arguments: fc.arguments }, { type: 'function_call_output', call_id: fc.call_id, output: 'two dogs' }],
    tools: [{ type: 'function', name: 'lookup', parameters: { type: 'object', properties: {} }, strict: false }],
  });
  assert.equal(after.output_text, 'fake: tool said two dogs');
});

void test('models and embeddings (float and the client default base64)', async (t) => {
  const f = await startAiFixture(t);
  const { client } = await f.tenant('acme');
  const ids: string[] = [];
  for await (const m of client.models.list()) ids.push(m.id);
  for (const id of ['echo', 'fast', 'smart', 'openai/gpt-fake', 'anthropic/claude-fake']) assert.ok(ids.includes(id), id);
  assert.equal((await client.models.retrieve('openai/gpt-fake')).owned_by, 'openai');
  assert.equal((await client.models.retrieve('echo')).id, 'echo');
  await assert.rejects(client.models.retrieve('nope/none'), (e: unknown) => e instanceof OpenAI.NotFoundError);
  const e = await client.embeddings.create({ model: 'openai/text-embed-fake', input: ['alpha', 'beta'] });
  assert.equal(e.data.length, 2);
  assert.equal(e.data[0]?.embedding.length, 8);
  const direct = await fetch(`${f.openaiFake.baseUrl}/embeddings`, { method: 'POST', headers: { authorization: 'Bearer sk-upstream-openai', 'content-type': 'application/json' }, body: JSON.stringify({ model: 'x', input: ['alpha'] }) });
  const want = ((await direct.json()) as { data: { embedding: number[] }[] }).data[0]?.embedding ?? [];
  e.data[0]?.embedding.forEach((v, i) => assert.ok(Math.abs(v - (want[i] ?? NaN)) < 1e-6));
  const ef = await client.embeddings.create({ model: 'echo', input: 'alpha', encoding_format: 'float', dimensions: 4 });
  assert.equal(ef.data[0]?.embedding.length, 4);
  assert.equal(ef.usage.prompt_tokens, 1);
});

void test('errors come back in OpenAI shape with the right status classes', async (t) => {
  const f = await startAiFixture(t);
  const { client } = await f.tenant('acme');
  await assert.rejects(client.chat.completions.create({ model: 'nope/none', messages: [{ role: 'user', content: 'x' }] }), (e: unknown) => {
    assert.ok(e instanceof OpenAI.NotFoundError);
    assert.equal(e.code, 'AI_MODEL_NOT_FOUND');
    return true;
  });
  await assert.rejects(f.clientFor('tk_acme_00000000000000000000000000000000').models.list(), (e: unknown) => e instanceof OpenAI.AuthenticationError);
  await assert.rejects(client.chat.completions.create({ model: 'echo', messages: [] }), (e: unknown) => e instanceof OpenAI.BadRequestError && e.type === 'invalid_request_error');
  const raw = await fetch(`${f.shard.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${(await f.tenant('beta')).token}`, 'content-type': 'application/json' }, body: '{not json' });
  assert.equal(raw.status, 400);
  const body = (await raw.json()) as { error: { type: string; message: string } };
  assert.equal(body.error.type, 'invalid_request_error');
});
