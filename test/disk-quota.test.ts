// Issue 11 item 7: the diskBytes quota is enforced: a write that would pass it is refused with
// QUOTA_DISK before anything is written (memory, sessions, config, agents), reads and deletes still work.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tenantDiskBytes } from '../shard/limits/disk-quota.ts';
import { createTenant, rpcCall, startTestShard } from './helpers/shard-fixture.ts';

test('issue 11 item 7: memory.add past diskBytes is refused with QUOTA_DISK and nothing is written', async (t) => {
  const shard = await startTestShard(t);
  const { token } = await createTenant(shard, 'disk1', { quota: { diskBytes: 2_000_000 } });
  const text = 'lorem ipsum dolor sit amet '.repeat(8_000); // ~216 KB a document
  let refused: { code?: string; at: number } | null = null;
  for (let i = 0; i < 40 && refused === null; i++) {
    const r = await rpcCall(shard, token, 'memory.add', { text: `${i} ${text}`, title: `doc ${i}` });
    if (r.error !== undefined) refused = { ...(r.error.data?.code === undefined ? {} : { code: r.error.data.code }), at: i };
  }
  assert.ok(refused !== null, 'never refused: the quota is not enforced');
  assert.equal(refused.code, 'QUOTA_DISK');
  const dir = shard.services.store.dirOf('disk1');
  const before = tenantDiskBytes(dir);
  const again = await rpcCall(shard, token, 'memory.add', { text: `again ${text}`, title: 'again' });
  assert.equal(again.error?.data?.code, 'QUOTA_DISK');
  assert.equal(tenantDiskBytes(dir), before, 'a refused write wrote nothing');
  const list = (await rpcCall(shard, token, 'memory.list', {})).result as { documents?: Array<{ title: string }> } | undefined;
  assert.ok(!JSON.stringify(list).includes('"again"'), 'the refused document is not in memory');
  assert.equal((await rpcCall(shard, token, 'tenants.get')).error, undefined, 'reads still work');
});

test('the rule: every method that writes the tenant\'s files refuses a tenant over diskBytes; no other method does', async (t) => {
  const shard = await startTestShard(t);
  const { token } = await createTenant(shard, 'disk2');
  await rpcCall(shard, token, 'config.set', { path: 'timezone', value: 'UTC' });
  // A quota below what the tenant already uses: every write must be refused.
  assert.equal((await shard.admin('/v1/tenants/disk2', { method: 'PATCH', body: { quota: { diskBytes: 1 } } })).status, 200);
  const methods = [...shard.services.rpcMethods.values()];
  const writers = methods.filter((m) => m.writesDisk === true).map((m) => m.name);
  for (const m of methods) {
    if (/\.(add|set|patch|create|update|send|reindex)$/.test(m.name)) assert.ok(writers.includes(m.name), `${m.name} writes: it must set writesDisk`);
  }
  const params: Record<string, unknown> = {
    'memory.add': { text: 'hello world', title: 't' },
    'config.set': { path: 'timezone', value: 'Europe/Paris' },
    'config.patch': { patch: { timezone: 'Europe/Paris' } },
    'chat.send': { model: 'echo', message: 'hi', idempotencyKey: 'k' },
    'agents.create': { name: 'a1', model: 'echo' },
    'agents.update': { name: 'a1', model: 'echo' },
    'agents.files.set': { name: 'a1', path: 'notes.md', content: 'x' },
    'memory.reindex': {},
    'channels.add': { name: 'hook1', platform: 'webhook', credentials: { secret: 'a-secret-of-enough-length-0123456789' }, settings: {} },
    'channels.update': { name: 'hook1', settings: {} },
    'cron.add': { name: 'j', schedule: { every: '2h' }, action: { type: 'webhook', url: 'https://example.invalid/x' } },
    'cron.update': { id: 'cj_0000000000000000', name: 'k' },
  };
  const dir = shard.services.store.dirOf('disk2');
  for (const name of writers) {
    const before = tenantDiskBytes(dir);
    const r = await rpcCall(shard, token, name, params[name] ?? {});
    assert.equal(r.error?.data?.code, 'QUOTA_DISK', `${name}: ${JSON.stringify(r.error ?? r.result).slice(0, 200)}`);
    assert.equal(tenantDiskBytes(dir), before, `${name} wrote although refused`);
  }
  for (const m of methods) {
    if (writers.includes(m.name) || m.name === 'tenants.delete' || m.name === 'tenants.rotate') continue;
    assert.notEqual((await rpcCall(shard, token, m.name, {})).error?.data?.code, 'QUOTA_DISK', m.name);
  }
  // An agent turn over /v1/chat/completions writes a session: refused too.
  const v1 = await fetch(`${shard.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'agent:a1', messages: [{ role: 'user', content: 'hi' }] }) });
  const body = (await v1.json()) as { error?: { code?: string } };
  assert.ok(body.error?.code === 'QUOTA_DISK' || body.error?.code === 'AI_AGENT_NOT_FOUND', JSON.stringify(body));
});
