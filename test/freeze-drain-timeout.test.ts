// A freeze whose in-flight requests do not drain within limits.drainTimeoutMs answers 409
// SHARD_TENANT_BUSY and thaws the tenant; the request it waited for still completes normally.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rpcCall } from './helpers/shard-fixture.ts';
import { startAiFixture } from './ai/ai-fixture.ts';

test('freeze that cannot drain in time: 409 SHARD_TENANT_BUSY, tenant thawed, held request completes', async (t) => {
  const f = await startAiFixture(t, { limits: { drainTimeoutMs: 200 } });
  const { token, client } = await f.tenant('busy');
  const held = f.openaiFake.hold();
  t.after(held.release); // never leave the upstream holding a request if an assertion fails first
  const inFlight = client.chat.completions.create({ model: 'openai/gpt-fake', messages: [{ role: 'user', content: 'slow answer' }] });
  await held.arrived;

  const freeze = await f.shard.admin('/v1/tenants/busy/freeze', { body: {} });
  assert.equal(freeze.status, 409);
  const body = (await freeze.json()) as { error: { code: string; message: string; details: { inflight: number } } };
  assert.equal(body.error.code, 'SHARD_TENANT_BUSY');
  assert.match(body.error.message, /thawed/);
  assert.ok(body.error.details.inflight > 0, 'the held completion is still counted in flight');

  // thawed: the control plane shows it owned and the tenant's own requests are served
  const info = (await (await f.shard.admin('/v1/tenants/busy')).json()) as { state: string };
  assert.equal(info.state, 'owned');
  const self = await rpcCall(f.shard, token, 'tenants.get');
  assert.equal(self.error, undefined);
  assert.equal((self.result as { id: string }).id, 'busy');

  held.release();
  const answer = await inFlight;
  assert.equal(answer.choices[0]?.message.content, 'fake: slow answer');
  // with nothing in flight any more, the same freeze goes through
  const again = await f.shard.admin('/v1/tenants/busy/freeze', { body: {} });
  assert.equal(again.status, 200);
  assert.equal(((await again.json()) as { state: string }).state, 'frozen');
});
