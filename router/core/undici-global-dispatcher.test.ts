// Trap (Node 20 + undici 7): loading undici before the first fetch() makes undici 7 Node's global
// dispatcher; a fetch() Request that carries its own content-length then fails ("invalid
// content-length header": Node's fetch adds a second one and they merge to "n, n"). The core must
// forward bodies through a fetch-based forwarder in that process all the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

const fixture = new URL('../../test/fixtures/undici-first/core-over-fetch.ts', import.meta.url).pathname;

test('the core forwards a body over fetch() when undici 7 is the global dispatcher', () => {
  const out = execFileSync(process.execPath, ['--import', 'tsx', fixture], { encoding: 'utf8', timeout: 60_000 });
  const r = JSON.parse(out.trim().split('\n').pop() as string) as { status: number; answer: { bytes: number; contentLength: string | null }; sent: number; rawFetch: string };
  assert.equal(r.status, 200, JSON.stringify(r));
  assert.equal(r.answer.bytes, r.sent);
  assert.equal(r.answer.contentLength, String(r.sent), 'the shard still gets a content-length (set by the forwarder)');
  // The trap is real on Node 20: without the core's care, the same request fails.
  if (process.versions.node.startsWith('20.')) assert.match(r.rawFetch, /invalid content-length/);
});
