// One WebSocket upgrade dispatcher per shard (issue 10), and issue 11 item 9: an upgrade to a path
// no feature serves is answered 404 and its socket closed at once (it used to be held open, unanswered).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { startTestShard, type TestShard } from './helpers/shard-fixture.ts';

/** Sends a raw upgrade request; resolves with everything the shard wrote once it closes the socket. */
function rawUpgrade(shard: TestShard, path: string, limitMs: number): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const sock = connect(shard.port, '127.0.0.1');
    let text = '';
    // Not a synchronisation sleep: the bound that tells "closed at once" from "held open".
    const limit = setTimeout(() => {
      sock.destroy();
      resolve({ text, closed: false });
    }, limitMs);
    sock.on('data', (d) => (text += d.toString('latin1')));
    sock.on('error', reject);
    sock.on('close', () => {
      clearTimeout(limit);
      resolve({ text, closed: true });
    });
    sock.write(
      `GET ${path} HTTP/1.1\r\nHost: shard\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    );
  });
}

void test('issue 11 item 9: upgrades to unknown paths get 404 and are closed at once, without auth and in bulk', async (t) => {
  const shard = await startTestShard(t);
  const paths = Array.from({ length: 50 }, (_, i) => (i % 3 === 0 ? `/nope-${i}` : i % 3 === 1 ? `/ws/extra-${i}` : `/v1/chat/completions?x=${i}`));
  const answers = await Promise.all(paths.map((p) => rawUpgrade(shard, p, 5000)));
  for (const [i, a] of answers.entries()) {
    assert.equal(a.closed, true, `upgrade to ${paths[i]} was held open`);
    assert.match(a.text, /^HTTP\/1\.1 404 /, `upgrade to ${paths[i]}`);
    assert.match(a.text, /"code":"NOT_FOUND"/);
  }
});

void test('the RPC transport still owns /ws (a missing token is a 401, not a 404)', async (t) => {
  const shard = await startTestShard(t);
  const a = await rawUpgrade(shard, '/ws', 5000);
  assert.equal(a.closed, true);
  assert.match(a.text, /^HTTP\/1\.1 401 /);
});
