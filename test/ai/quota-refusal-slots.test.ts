// Issue 11 item 12: a request refused by a token or cost limit was never served, so it holds no
// requests-per-minute place: lifting the limit lets the tenant work again within the same minute.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startClockedShard, TestClock } from './ai-fixture.ts';

const NOON = Date.UTC(2026, 10, 23, 12, 0, 0);

async function post(url: string, token: string, path: string, body: unknown): Promise<{ status: number; code?: string }> {
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const j = (await res.json()) as { error?: { code?: string } };
  return { status: res.status, ...(j.error?.code === undefined ? {} : { code: j.error.code }) };
}

// Each limit is first exhausted by one admitted request (echo: about 19 tokens, a few millionths of a dollar).
const LIMITS = [
  { limit: 'tokensPerDay', tight: 20, code: 'QUOTA_TOKENS_DAY', lifted: 1_000_000 },
  { limit: 'tokensPerMonth', tight: 20, code: 'QUOTA_TOKENS_MONTH', lifted: 1_000_000 },
  { limit: 'usdPerDay', tight: 0.00003, code: 'QUOTA_USD_DAY', lifted: 100 },
  { limit: 'usdPerMonth', tight: 0.00003, code: 'QUOTA_USD_MONTH', lifted: 100 },
] as const;

const ROUTES = [
  { path: '/v1/chat/completions', body: { model: 'echo', messages: [{ role: 'user', content: 'w1 w2 w3 w4 w5 w6 w7 w8 w9' }] } },
  { path: '/v1/embeddings', body: { model: 'echo', input: ['w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 w12 w13 w14 w15 w16 w17 w18 w19'] } },
];

for (const l of LIMITS) {
  for (const r of ROUTES) {
    void test(`issue 11 item 12: requests ${r.path} refused by ${l.limit} do not use requestsPerMinute places`, async (t) => {
      const clock = new TestClock(NOON);
      const s = await startClockedShard(t, clock);
      const id = `q${LIMITS.indexOf(l)}${ROUTES.indexOf(r)}`;
      const token = await s.createTenant(id, { [l.limit]: l.tight, requestsPerMinute: 3 });
      assert.equal((await post(s.shard.url, token, r.path, r.body)).status, 200);
      for (let i = 0; i < 5; i++) {
        const refused = await post(s.shard.url, token, r.path, r.body);
        assert.deepEqual(refused, { status: 429, code: l.code });
      }
      const patch = await fetch(`${s.shard.url}/v1/tenants/${id}`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${s.adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ quota: { [l.limit]: l.lifted } }),
      });
      assert.equal(patch.status, 200);
      // same minute: 1 served + 2 more fit under requestsPerMinute 3; the 4th is the minute's limit
      assert.equal((await post(s.shard.url, token, r.path, r.body)).status, 200);
      assert.equal((await post(s.shard.url, token, r.path, r.body)).status, 200);
      assert.deepEqual(await post(s.shard.url, token, r.path, r.body), { status: 429, code: 'QUOTA_REQUESTS_MINUTE' });
    });
  }
}
