// Quotas are exact (requests/minute with the right Retry-After; token and cost limits under 50
// concurrent requests), and every ledger row's cost is the rate card's arithmetic at write time.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import OpenAI from 'openai';
import { costOf, rateFor } from '../../shard/ai/usage/rate-card.ts';
import { RateCardSchema } from '../../shard/ai/ai-config.ts';
import { RATE_CARD, startClockedShard, TestClock } from './ai-fixture.ts';

const NOON = Date.UTC(2026, 10, 23, 12, 0, 0);
const NINE_WORDS = 'w1 w2 w3 w4 w5 w6 w7 w8 w9'; // echo: 9 input tokens, answer "echo: w1 … w9" = 10 tokens

function ledger(dataDir: string, tenant: string): { model: string; status: string; input_tokens: number; output_tokens: number; cache_read_tokens: number; cache_write_tokens: number; reasoning_tokens: number; cost_usd: number; rate_input: number; rate_output: number; rate_cache_read: number; rate_cache_write: number; rate_reasoning: number; session_id: string | null }[] {
  const db = new Database(join(dataDir, 'tenants', tenant, 'state.db'), { readonly: true });
  try {
    return db.prepare('SELECT * FROM usage_ledger ORDER BY id').all() as ReturnType<typeof ledger>;
  } finally {
    db.close();
  }
}

void test('requestsPerMinute: the 6th request in a minute is refused with Retry-After to the slot that frees', async (t) => {
  const clock = new TestClock(NOON);
  const s = await startClockedShard(t, clock);
  const client = s.clientFor(await s.createTenant('acme', { requestsPerMinute: 5 }));
  for (let i = 0; i < 5; i++) {
    await client.chat.completions.create({ model: 'echo', messages: [{ role: 'user', content: `hi ${i}` }] });
    clock.advance(1000);
  }
  clock.advance(5000); // 10 s after the first request
  const res = await fetch(`${s.shard.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${client.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'echo', messages: [{ role: 'user', content: 'sixth' }] }),
  });
  assert.equal(res.status, 429);
  assert.equal(res.headers.get('retry-after'), '50');
  const body = (await res.json()) as { error: { code: string; type: string; details: { limit: string } } };
  assert.equal(body.error.code, 'QUOTA_REQUESTS_MINUTE');
  assert.equal(body.error.type, 'rate_limit_error');
  assert.equal(body.error.details.limit, 'requestsPerMinute');
  clock.advance(49_500);
  await assert.rejects(client.chat.completions.create({ model: 'echo', messages: [{ role: 'user', content: 'x' }] }), (e: unknown) => e instanceof OpenAI.RateLimitError && e.headers.get('retry-after') === '1');
  clock.advance(500); // the first request leaves the window
  await client.chat.completions.create({ model: 'echo', messages: [{ role: 'user', content: 'x' }] });
  // the refused requests wrote no ledger rows; the admitted ones did
  assert.equal(ledger(s.dataDir, 'acme').length, 6);
  // over JSON-RPC the same limit is a JSON-RPC error with the code
  const rpc = await fetch(`${s.shard.url}/rpc`, {
    method: 'POST',
    headers: { authorization: `Bearer ${client.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'chat.send', params: { message: 'hi', idempotencyKey: 'k1' } }),
  });
  const rj = (await rpc.json()) as { error?: { code: number; data: { code: string; details: { retryAfterSeconds: number } } } };
  assert.equal(rj.error?.code, -32029);
  assert.equal(rj.error?.data.code, 'QUOTA_REQUESTS_MINUTE');
  assert.ok((rj.error?.data.details.retryAfterSeconds ?? 0) >= 1);
});

const LIMITS: { quota: { tokensPerDay?: number; usdPerDay?: number; tokensPerMonth?: number }; code: string; admitted: number }[] = [
  { quota: { tokensPerDay: 500 }, code: 'QUOTA_TOKENS_DAY', admitted: 26 }, // 26 × 19 = 494 ≤ 500 < 513
  { quota: { usdPerDay: 0.0005 }, code: 'QUOTA_USD_DAY', admitted: 17 }, // 17 × $0.000029 ≤ $0.0005
  { quota: { tokensPerMonth: 300 }, code: 'QUOTA_TOKENS_MONTH', admitted: 15 },
];
for (const limit of LIMITS) {
  void test(`${limit.code}: 50 concurrent requests stop exactly at the limit, streaming or not`, async (t) => {
    const clock = new TestClock(NOON);
    const s = await startClockedShard(t, clock);
    const client = s.clientFor(await s.createTenant('acme', limit.quota));
    const outcomes = await Promise.allSettled(
      Array.from({ length: 50 }, async (_, i) => {
        if (i % 2 === 0) return client.chat.completions.create({ model: 'echo', max_tokens: 10, messages: [{ role: 'user', content: NINE_WORDS }] });
        const stream = await client.chat.completions.create({ model: 'echo', max_tokens: 10, stream: true, messages: [{ role: 'user', content: NINE_WORDS }] });
        for await (const _c of stream) {
          // drain
        }
        return null;
      }),
    );
    const ok = outcomes.filter((o) => o.status === 'fulfilled').length;
    const refused = outcomes.filter((o) => o.status === 'rejected');
    assert.equal(ok, limit.admitted);
    for (const r of refused) {
      const e = (r as PromiseRejectedResult).reason as unknown;
      assert.ok(e instanceof OpenAI.RateLimitError, String(e));
      assert.equal(e.code, limit.code);
    }
    const rows = ledger(s.dataDir, 'acme');
    assert.equal(rows.length, limit.admitted);
    const tokens = rows.reduce((n, r) => n + r.input_tokens + r.output_tokens, 0);
    const usd = rows.reduce((n, r) => n + r.cost_usd, 0);
    assert.equal(tokens, limit.admitted * 19);
    if (limit.quota.tokensPerDay !== undefined) assert.ok(tokens <= limit.quota.tokensPerDay);
    if (limit.quota.usdPerDay !== undefined) assert.ok(usd <= limit.quota.usdPerDay);
    // the refusal names the window's reset: next UTC midnight (12 h) or the 1st of next month
    const res = await fetch(`${s.shard.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${client.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'echo', max_tokens: 10, messages: [{ role: 'user', content: NINE_WORDS }] }),
    });
    assert.equal(res.status, 429);
    const expectReset = limit.code === 'QUOTA_TOKENS_MONTH' ? (Date.UTC(2026, 11, 1) - NOON) / 1000 : 12 * 3600;
    assert.equal(res.headers.get('retry-after'), String(expectReset));
  });
}

void test('a request without max_tokens under a token limit is capped to what remains', async (t) => {
  const clock = new TestClock(NOON);
  const s = await startClockedShard(t, clock);
  const client = s.clientFor(await s.createTenant('acme', { tokensPerDay: 15 }));
  const r = await client.chat.completions.create({ model: 'echo', messages: [{ role: 'user', content: NINE_WORDS }] });
  assert.equal(r.choices[0]?.finish_reason, 'length');
  assert.equal(r.usage?.total_tokens, 15);
  await assert.rejects(client.chat.completions.create({ model: 'echo', messages: [{ role: 'user', content: 'x' }] }), (e: unknown) => e instanceof OpenAI.RateLimitError);
});

void test('ledger cost equals the rate card arithmetic for every row; a new rate card changes only later rows', async (t) => {
  const clock = new TestClock(NOON);
  const { FakeOpenAiUpstream } = await import('../fakes/fake-openai-upstream.ts');
  const fake = await FakeOpenAiUpstream.start({ cachedTokens: 2, reasoningTokens: 3 });
  t.after(() => fake.close());
  const providers = { openai: { kind: 'openai' as const, baseUrl: fake.baseUrl, allowPrivateNetwork: true } };
  const first = await startClockedShard(t, clock, { providers, rateCard: RATE_CARD });
  const token = await first.createTenant('acme');
  const run = async (client: OpenAI): Promise<void> => {
    await client.chat.completions.create({ model: 'openai/gpt-fake', messages: [{ role: 'user', content: 'a b c d e' }] });
    await client.chat.completions.create({ model: 'echo', messages: [{ role: 'user', content: 'one two three' }] });
    const st = await client.chat.completions.create({ model: 'openai/gpt-fake', stream: true, messages: [{ role: 'user', content: 'x y' }] });
    for await (const _c of st) {
      // drain
    }
  };
  await run(first.clientFor(token));
  await first.shard.close();
  const card2 = { ...RATE_CARD, 'openai/gpt-fake': { input: 10, output: 20, cacheRead: 1, reasoning: 40 }, echo: { input: 5, output: 7 } };
  const second = await startClockedShard(t, clock, { providers, rateCard: card2 }, { dataDir: first.dataDir, adminKey: first.adminKey });
  await run(second.clientFor(token));
  const rows = ledger(first.dataDir, 'acme');
  assert.equal(rows.length, 6);
  rows.forEach((r, i) => {
    const card = RateCardSchema.parse(i < 3 ? RATE_CARD : card2);
    const rate = rateFor(card, r.model);
    assert.deepEqual([r.rate_input, r.rate_output, r.rate_cache_read, r.rate_cache_write, r.rate_reasoning], [rate.input, rate.output, rate.cacheRead, rate.cacheWrite, rate.reasoning], `row ${i}`);
    const usage = { input: r.input_tokens, output: r.output_tokens, cacheRead: r.cache_read_tokens, cacheWrite: r.cache_write_tokens, reasoning: r.reasoning_tokens };
    assert.equal(r.cost_usd, costOf(usage, rate), `row ${i}`);
    assert.ok(r.cost_usd > 0);
  });
  // the OpenAI upstream's cached and reasoning tokens landed in their own columns
  assert.equal(rows[0]?.cache_read_tokens, 2);
  assert.equal(rows[0]?.reasoning_tokens, 3);
});
