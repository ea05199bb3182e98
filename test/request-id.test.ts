// One request-id rule for router and shard (issue 10 item 5): an id the router accepts and forwards
// (letters, digits, ._:- up to 128) is the id the shard logs and answers with, never replaced.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REQUEST_ID_PATTERN } from '../router/index.ts';
import { startTestShard } from './helpers/shard-fixture.ts';

void test('the shard keeps every request id the router accepts, and replaces the others', async (t) => {
  const shard = await startTestShard(t);
  const kept = ['router-1:7f3e.c0ffee_01', 'a'.repeat(128), 'x:y:z'];
  for (const id of kept) {
    assert.ok(REQUEST_ID_PATTERN.test(id));
    const res = await fetch(`${shard.url}/healthz`, { headers: { 'x-request-id': id } });
    assert.equal(res.headers.get('x-request-id'), id);
  }
  for (const id of ['a'.repeat(129), 'has space', 'semi;colon']) {
    const res = await fetch(`${shard.url}/healthz`, { headers: { 'x-request-id': id } });
    const given = res.headers.get('x-request-id') ?? '';
    assert.notEqual(given, id);
    assert.match(given, /^[0-9a-f-]{36}$/);
  }
  assert.ok(shard.logs.join('').includes('"reqId":"router-1:7f3e.c0ffee_01"'), 'the log line carries the forwarded id');
});
