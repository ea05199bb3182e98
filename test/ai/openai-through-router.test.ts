// The official `openai` client, unchanged, through the router to the shard that owns the tenant:
// chat (stream and not), tools, responses, models, embeddings, and a quota refusal.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import OpenAI from 'openai';
import { parseManifest, serializeManifest } from '../../router/manifest/manifest-schema.ts';
import { parseRouterConfig } from '../../router/node/router-config.ts';
import { createRouterLogger, startRouter } from '../../router/node/start-router.ts';
import { tempDir } from '../helpers/shard-fixture.ts';
import { startAiFixture } from './ai-fixture.ts';

void test('openai client through router + shard: chat, stream, tools, responses, models, embeddings, 429', async (t) => {
  const f = await startAiFixture(t);
  const manifest = join(tempDir(t), 'manifest.json');
  writeFileSync(manifest, serializeManifest(parseManifest({ version: 1, shards: [{ id: 's1', url: f.shard.url, weight: 1 }], overrides: {} })));
  const router = await startRouter(parseRouterConfig({ port: 0, manifest, logLevel: 'silent' }), { log: createRouterLogger('silent') });
  t.after(() => router.close());
  const { token } = await f.tenant('acme', { requestsPerMinute: 7 });
  const client = new OpenAI({ apiKey: token, baseURL: `${router.url}/v1`, maxRetries: 0 });
  const r = await client.chat.completions.create({ model: 'smart', messages: [{ role: 'user', content: 'via router' }] });
  assert.equal(r.choices[0]?.message.content, 'fake: via router');
  let text = '';
  for await (const c of await client.chat.completions.create({ model: 'fast', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'streamed via router' }] })) {
    text += c.choices[0]?.delta.content ?? '';
  }
  assert.equal(text, 'fake: streamed via router');
  const tools: OpenAI.Chat.Completions.ChatCompletionTool[] = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } } }];
  const tc = await client.chat.completions.create({ model: 'anthropic/claude-fake', tools, messages: [{ role: 'user', content: 'find' }] });
  assert.equal(tc.choices[0]?.message.tool_calls?.[0]?.type, 'function');
  const resp = await client.responses.create({ model: 'echo', input: 'responses via router' });
  assert.equal(resp.output_text, 'echo: responses via router');
  const models = await client.models.list();
  assert.ok(models.data.some((m) => m.id === 'echo'));
  const emb = await client.embeddings.create({ model: 'echo', input: 'vector' });
  assert.equal(emb.data[0]?.embedding.length, 16);
  // models.list is not a model request: after these two, seven model calls were made in this minute
  await client.chat.completions.create({ model: 'echo', messages: [{ role: 'user', content: 'seven' }] });
  await client.chat.completions.create({ model: 'echo', messages: [{ role: 'user', content: 'eight' }] });
  await assert.rejects(client.chat.completions.create({ model: 'echo', messages: [{ role: 'user', content: 'nine' }] }), (e: unknown) => {
    assert.ok(e instanceof OpenAI.RateLimitError);
    assert.equal(e.code, 'QUOTA_REQUESTS_MINUTE');
    assert.ok(Number(e.headers.get('retry-after')) >= 1);
    return true;
  });
});
