// One JSON log line per request, each key once (issue 17: `reqId` appeared twice, which JSON
// parsers resolve silently and log pipelines reject or double-count).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestShard } from '../../test/helpers/shard-fixture.ts';

void test('regression issue 17: the request log line carries reqId once', async (t) => {
  const shard = await startTestShard(t);
  await (await fetch(`${shard.url}/healthz`, { headers: { 'x-request-id': 'log-once-1' } })).arrayBuffer();
  const line = shard.logs.find((l) => l.includes('"msg":"request"') && l.includes('log-once-1'));
  assert.ok(line !== undefined, shard.logs.join(''));
  assert.equal(line.match(/"reqId":/g)?.length, 1, line);
  assert.equal((JSON.parse(line) as { reqId: string }).reqId, 'log-once-1');
});
