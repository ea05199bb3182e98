// Issue 11 item 1: every answer whose size the caller controls has an upper bound computed before
// the work (per request and per JSON-RPC batch); past it the answer is refused (RESPONSE_TOO_LARGE)
// or paged, so a few KB of requests cannot make the shard build hundreds of MB.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { embeddingsBound } from '../shard/limits/response-bounds.ts';
import { createTenant, rpcCall, startTestShard, type TestShard } from './helpers/shard-fixture.ts';

async function embeddings(shard: TestShard, token: string, body: unknown): Promise<{ status: number; bytes: number; code?: string }> {
  const res = await fetch(`${shard.url}/v1/embeddings`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  const code = res.status === 200 ? undefined : (JSON.parse(text) as { error?: { code?: string } }).error?.code;
  return { status: res.status, bytes: Buffer.byteLength(text), ...(code === undefined ? {} : { code }) };
}

test('issue 11 item 1: /v1/embeddings with a large dimensions × many inputs is refused before the work (413 RESPONSE_TOO_LARGE)', async (t) => {
  const shard = await startTestShard(t);
  const { token } = await createTenant(shard, 'emb1');
  // ~8 KB of request that would answer ~40 MB of JSON floats
  const big = await embeddings(shard, token, { model: 'echo', input: Array.from({ length: 256 }, (_, i) => `w${i}`), dimensions: 8192 });
  assert.deepEqual(big, { status: 413, bytes: big.bytes, code: 'RESPONSE_TOO_LARGE' });
  assert.ok(big.bytes < 4096);
  // The same vectors as base64 fit the default 16 MiB bound, and the answer is within its computed bound.
  const b64 = await embeddings(shard, token, { model: 'echo', input: Array.from({ length: 256 }, (_, i) => `w${i}`), dimensions: 8192, encoding_format: 'base64' });
  assert.equal(b64.status, 200);
  assert.ok(b64.bytes <= embeddingsBound({ inputs: 256, dimensions: 8192, encoding: 'base64' }));
});

test('issue 11 item 1: a JSON-RPC batch of chat.history over a large session stays within the batch bound and pages', async (t) => {
  const shard = await startTestShard(t);
  const { token } = await createTenant(shard, 'hist1');
  const sessionId = 'big';
  for (let i = 0; i < 12; i++) {
    const sent = await rpcCall(shard, token, 'chat.send', { sessionId, model: 'echo', message: `${i} ${'x'.repeat(150_000)}`, idempotencyKey: `k${i}` });
    assert.equal(sent.error, undefined, JSON.stringify(sent.error));
  }
  // 24 messages of ~150 KB: 3.6 MB per call, ×40 calls = 144 MB unbounded
  const batch = Array.from({ length: 40 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'chat.history', params: { sessionId, limit: 1000 } }));
  const res = await shard.rpc(token, batch);
  const text = await res.text();
  const max = shard.services.config.limits.rpcBatchResponseMaxBytes;
  assert.ok(Buffer.byteLength(text) <= max, `batch answer ${Buffer.byteLength(text)} bytes > ${max}`);
  const answers = JSON.parse(text) as Array<{ result?: { messages: unknown[]; nextAfterSeq: number | null } }>;
  assert.equal(answers.length, 40);
  for (const a of answers) assert.ok(a.result !== undefined && a.result.messages.length >= 1 && a.result.nextAfterSeq !== null, 'each call answers a page and says where to go on');
  // Paging alone brings back the whole transcript, in order, nothing lost.
  const seen: number[] = [];
  let after = 0;
  for (;;) {
    const page = (await rpcCall(shard, token, 'chat.history', { sessionId, afterSeq: after, limit: 1000 })).result as { messages: Array<{ seq: number }>; nextAfterSeq: number | null };
    seen.push(...page.messages.map((m) => m.seq));
    if (page.nextAfterSeq === null) break;
    after = page.nextAfterSeq;
  }
  assert.equal(seen.length, 24);
  assert.deepEqual(seen, [...seen].sort((a, b) => a - b));
});

test('the rule: a full batch of every RPC method, against a tenant full of data, answers within the batch bound', async (t) => {
  const limits = { responseMaxBytes: 64 * 1024, rpcBatchResponseMaxBytes: 256 * 1024, rpcBatchMax: 50 };
  const shard = await startTestShard(t, { config: { limits } });
  const { token } = await createTenant(shard, 'rule1');
  const blob = 'y'.repeat(40_000);
  await rpcCall(shard, token, 'chat.send', { sessionId: 's1', model: 'echo', message: blob, idempotencyKey: 'a' });
  await rpcCall(shard, token, 'chat.send', { sessionId: 's1', model: 'echo', message: blob, idempotencyKey: 'b' });
  for (let i = 0; i < 5; i++) await rpcCall(shard, token, 'memory.add', { text: `${i} ${blob}`, title: `doc ${i}` });
  await rpcCall(shard, token, 'config.patch', { patch: { chat: { systemPrompt: blob } } });
  const paramsFor = [{}, { sessionId: 's1', limit: 1000 }, { query: 'y', limit: 100 }, { limit: 500 }];
  for (const method of shard.services.rpcMethods.keys()) {
    if (method === 'tenants.delete' || method === 'tenants.rotate' || method === 'chat.send') continue;
    for (const params of paramsFor) {
      const batch = Array.from({ length: limits.rpcBatchMax }, (_, i) => ({ jsonrpc: '2.0', id: i, method, params }));
      const text = await (await shard.rpc(token, batch)).text();
      assert.ok(Buffer.byteLength(text) <= limits.rpcBatchResponseMaxBytes, `${method} ${JSON.stringify(params)}: ${Buffer.byteLength(text)} bytes`);
    }
  }
});

test('the rule: embeddingsBound is an upper bound of the actual answer for any inputs, dimensions and encoding', async (t) => {
  const shard = await startTestShard(t);
  const { token } = await createTenant(shard, 'emb2');
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 64 }), fc.option(fc.integer({ min: 1, max: 2048 }), { nil: undefined }), fc.constantFrom('float' as const, 'base64' as const, undefined), async (inputs, dimensions, encoding) => {
      const body = { model: 'echo', input: Array.from({ length: inputs }, (_, i) => `text ${i}`), ...(dimensions === undefined ? {} : { dimensions }), ...(encoding === undefined ? {} : { encoding_format: encoding }) };
      const r = await embeddings(shard, token, body);
      assert.equal(r.status, 200);
      assert.ok(r.bytes <= embeddingsBound({ inputs, dimensions, encoding }), `${r.bytes} > bound`);
    }),
    { numRuns: 40 },
  );
});
