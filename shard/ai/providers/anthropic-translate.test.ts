// The OpenAI ⇄ Anthropic translation (pure): messages, system, tools, tool results, images, stop reasons.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromAnthropicResponse, toAnthropicBody } from './anthropic-translate.ts';
import { readSse } from './sse-reader.ts';

void test('OpenAI messages become Anthropic blocks: system joined, tool calls and results, merged roles', () => {
  const body = toAnthropicBody(
    {
      model: 'claude',
      messages: [
        { role: 'system', content: 'a' },
        { role: 'developer', content: 'b' },
        { role: 'user', content: [{ type: 'text', text: 'look' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] },
        { role: 'assistant', content: 'calling', tool_calls: [{ id: 't1', type: 'function', function: { name: 'f', arguments: '{"x":1}' } }] },
        { role: 'tool', tool_call_id: 't1', content: 'r1' },
        { role: 'user', content: 'thanks' },
      ],
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
      tool_choice: 'required',
      stop: 'END',
    },
    512,
    false,
  );
  assert.equal(body['system'], 'a\n\nb');
  assert.equal(body['max_tokens'], 512);
  assert.deepEqual(body['stop_sequences'], ['END']);
  assert.deepEqual(body['tool_choice'], { type: 'any' });
  const msgs = body['messages'] as { role: string; content: Record<string, unknown>[] }[];
  assert.deepEqual(msgs.map((m) => m.role), ['user', 'assistant', 'user']);
  assert.deepEqual(msgs[0]?.content[1], { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAAA' } });
  assert.deepEqual(msgs[1]?.content[1], { type: 'tool_use', id: 't1', name: 'f', input: { x: 1 } });
  // the tool result and the next user text share one user turn
  assert.deepEqual(msgs[2]?.content, [{ type: 'tool_result', tool_use_id: 't1', content: 'r1' }, { type: 'text', text: 'thanks' }]);
  assert.throws(() => toAnthropicBody({ model: 'c', messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'x', type: 'function', function: { name: 'f', arguments: '{bad' } }] }] }, 1, false));
});

void test('Anthropic responses map back: text, tool_use, stop reasons, cache usage', () => {
  const r = fromAnthropicResponse({
    content: [{ type: 'thinking', thinking: '...' }, { type: 'text', text: 'hi' }, { type: 'tool_use', id: 'tu', name: 'g', input: { a: 'b' } }],
    stop_reason: 'tool_use',
    usage: { input_tokens: 10, output_tokens: 5, cache_read_input_tokens: 3, cache_creation_input_tokens: 2 },
  });
  assert.equal(r.content, 'hi');
  assert.deepEqual(r.toolCalls, [{ id: 'tu', type: 'function', function: { name: 'g', arguments: '{"a":"b"}' } }]);
  assert.equal(r.finishReason, 'tool_calls');
  assert.deepEqual(r.usage, { input: 10, output: 5, cacheRead: 3, cacheWrite: 2, reasoning: 0 });
  assert.equal(fromAnthropicResponse({ content: [], stop_reason: 'max_tokens' }).finishReason, 'length');
});

void test('the SSE reader handles CRLF split across chunks, comments and multi-line data', async () => {
  async function* chunks(): AsyncGenerator<string> {
    yield 'event: a\r';
    yield '\ndata: 1\r\n';
    yield ': comment\r\ndata: 2\r\n\r\ndata: x\ndata: y\n\n';
  }
  const out = [];
  for await (const e of readSse(chunks())) out.push(e);
  assert.deepEqual(out, [{ event: 'a', data: '1\n2' }, { event: 'message', data: 'x\ny' }]);
});
