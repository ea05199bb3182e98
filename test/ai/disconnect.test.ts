// A client that disconnects mid-stream: the upstream sees the abort, the ledger row is written
// (status aborted), the session stays usable, and the next request is answered with its own data.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { rpcCall } from '../helpers/shard-fixture.ts';
import { startAiFixture } from './ai-fixture.ts';

function ledgerRows(dataDir: string, tenant: string): { status: string; input_tokens: number; output_tokens: number; session_id: string | null }[] {
  const db = new Database(join(dataDir, 'tenants', tenant, 'state.db'), { readonly: true });
  try {
    return db.prepare('SELECT status, input_tokens, output_tokens, session_id FROM usage_ledger ORDER BY id').all() as ReturnType<typeof ledgerRows>;
  } finally {
    db.close();
  }
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setImmediate(r));
  }
}

for (const model of ['openai/gpt-fake', 'anthropic/claude-fake']) {
  void test(`client disconnect mid-stream (${model}): abort reaches upstream, ledger row kept, session intact`, async (t) => {
    const f = await startAiFixture(t);
    const { token, client } = await f.tenant('acme');
    ok(await rpcCall(f.shard, token, 'agents.create', { name: 'bot', model }));
    const fake = model.startsWith('openai') ? f.openaiFake : f.anthropicFake;
    fake.setBehaviour({ hangAfterChunks: 2 });
    const ac = new AbortController();
    const upstreamAbort = fake.nextClientAbort();
    const res = await fetch(`${f.shard.url}/v1/chat/completions`, {
      method: 'POST',
      signal: ac.signal,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-openclawmu-session': 'talk' },
      body: JSON.stringify({ model: 'agent:bot', stream: true, messages: [{ role: 'user', content: 'tell me a long story' }] }),
    });
    assert.equal(res.status, 200);
    const reader = res.body?.getReader();
    assert.ok(reader);
    let seen = '';
    while (!seen.includes('fake:')) {
      const { value } = await reader.read();
      seen += new TextDecoder().decode(value);
    }
    ac.abort();
    await upstreamAbort;
    await until(() => ledgerRows(f.shard.dataDir, 'acme').length === 1);
    const [row] = ledgerRows(f.shard.dataDir, 'acme');
    assert.equal(row?.status, 'aborted');
    assert.equal(row?.session_id, 'talk');
    assert.ok((row?.input_tokens ?? 0) > 0 && (row?.output_tokens ?? 0) > 0);
    // the session keeps the user turn and the part the client saw; the next turn works
    fake.setBehaviour({ hangAfterChunks: null });
    const next = await client.chat.completions.create({ model: 'agent:bot', messages: [{ role: 'user', content: 'again please' }] }, { headers: { 'x-openclawmu-session': 'talk' } });
    assert.equal(next.choices[0]?.message.content, 'fake: again please');
    const hist = ok<{ messages: { role: string; content: string }[] }>(await rpcCall(f.shard, token, 'chat.history', { sessionId: 'talk' }));
    assert.deepEqual(hist.messages.map((m) => m.role), ['user', 'assistant', 'user', 'assistant']);
    assert.match(hist.messages[1]?.content ?? '', /^fake:/);
    // plain requests on the same upstream pool are not mixed up with the aborted one
    const answers = await Promise.all(['p1', 'p2', 'p3'].map((w) => client.chat.completions.create({ model, messages: [{ role: 'user', content: w }] })));
    assert.deepEqual(answers.map((a) => a.choices[0]?.message.content), ['fake: p1', 'fake: p2', 'fake: p3']);
    assert.deepEqual(ledgerRows(f.shard.dataDir, 'acme').map((r) => r.status), ['aborted', 'ok', 'ok', 'ok', 'ok']);
  });
}

function ok<T>(r: { result?: unknown; error?: { message: string } }): T {
  if (r.error !== undefined) throw new Error(r.error.message);
  return r.result as T;
}
