// Edge cases on /v1: an upstream that breaks mid-stream, bad session ids, a frozen tenant, n > 1.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { startAiFixture } from './ai-fixture.ts';

void test('/v1 edge cases: mid-stream upstream failure, invalid session, frozen tenant, n > 1', async (t) => {
  const f = await startAiFixture(t);
  const { token } = await f.tenant('acme');
  const post = (body: unknown, headers: Record<string, string> = {}): Promise<Response> =>
    fetch(`${f.shard.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

  // the upstream connection breaks after one content chunk: the stream ends with an error frame
  f.openaiFake.setBehaviour({ dropAfterChunks: 1 });
  const res = await post({ model: 'openai/gpt-fake', stream: true, messages: [{ role: 'user', content: 'a b c d' }] });
  assert.equal(res.status, 200);
  const text = await res.text();
  assert.match(text, /"content":"fake:"/);
  assert.match(text, /"error":\{"message":"[^"]*","type":"api_error","param":null,"code":"AI_PROVIDER_ERROR"/);
  assert.ok(!text.includes('[DONE]'));
  f.openaiFake.setBehaviour({ dropAfterChunks: null });
  const db = new Database(join(f.shard.dataDir, 'tenants', 'acme', 'state.db'), { readonly: true });
  t.after(() => db.close());
  const row = db.prepare('SELECT status, output_tokens FROM usage_ledger ORDER BY id DESC LIMIT 1').get() as { status: string; output_tokens: number };
  assert.equal(row.status, 'error');
  assert.ok(row.output_tokens >= 1, 'what was produced is billed');

  const badSession = await post({ model: 'echo', messages: [{ role: 'user', content: 'x' }] }, { 'x-openclawmu-session': '../etc/passwd' });
  assert.equal(badSession.status, 400);
  assert.equal(((await badSession.json()) as { error: { code: string } }).error.code, 'VALIDATION_FAILED');

  const n2 = await post({ model: 'echo', n: 2, messages: [{ role: 'user', content: 'x' }] });
  assert.equal(n2.status, 400);

  const frozen = await f.shard.admin('/v1/tenants/acme/freeze', { body: {} });
  assert.equal(frozen.status, 200);
  const refused = await post({ model: 'echo', messages: [{ role: 'user', content: 'x' }] });
  assert.equal(refused.status, 503);
  assert.equal(refused.headers.get('x-openclawmu-frozen'), '1');
  assert.ok(refused.headers.get('retry-after') !== null);
  const body = (await refused.json()) as { error: { code: string; type: string } };
  assert.equal(body.error.code, 'SHARD_TENANT_FROZEN');
  assert.equal(body.error.type, 'api_error');
  assert.equal((await f.shard.admin('/v1/tenants/acme/thaw', { body: {} })).status, 200);
  const after = await post({ model: 'echo', messages: [{ role: 'user', content: 'thawed' }] });
  assert.equal(after.status, 200);
});
