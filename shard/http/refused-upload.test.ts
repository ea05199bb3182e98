// A body the shard refuses (413) is read and dropped, and the connection stays usable: closing it
// under a sender that is still writing resets the connection, and the 413 is lost (issue 11 item 8).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { once } from 'node:events';
import { startTestShard } from '../../test/helpers/shard-fixture.ts';

void test('a refused upload (length or chunked) gets 413 and the same connection then serves the next request', async (t) => {
  const shard = await startTestShard(t);
  const { hostname, port } = new URL(shard.url);
  for (const framing of ['content-length', 'chunked'] as const) {
    const sock = connect(Number(port), hostname);
    t.after(() => sock.destroy());
    await once(sock, 'connect');
    let got = '';
    let closed = false;
    sock.on('data', (c: Buffer) => (got += c.toString('latin1')));
    sock.on('error', () => {});
    const ended = new Promise<void>((resolve) => sock.once('close', () => resolve()));
    void ended.then(() => (closed = true));
    const size = 2 * 1024 * 1024;
    sock.write(`POST /rpc HTTP/1.1\r\nhost: shard\r\ncontent-type: application/json\r\n${framing === 'chunked' ? 'transfer-encoding: chunked' : `content-length: ${size}`}\r\n\r\n`);
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    for (let sent = 0; sent < size; sent += chunk.length) {
      const ok = sock.write(framing === 'chunked' ? Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]) : chunk);
      if (closed) break;
      if (!ok) await Promise.race([once(sock, 'drain'), ended]);
    }
    if (!closed) sock.write(`${framing === 'chunked' ? '0\r\n\r\n' : ''}GET /healthz HTTP/1.1\r\nhost: shard\r\n\r\n`);
    while (!got.includes('"status":"ok"') && !closed) await Promise.race([once(sock, 'data'), ended]);
    assert.match(got, /^HTTP\/1\.1 413 /, framing);
    assert.doesNotMatch(got.split('\r\n\r\n')[0] ?? '', /connection: close/i, framing);
    assert.match(got, /HTTP\/1\.1 200 OK/, `${framing}: the connection served the next request`);
    sock.destroy();
  }
});
