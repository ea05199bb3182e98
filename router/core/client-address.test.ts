// The client address behind trusted proxies: a right-to-left walk of X-Forwarded-For that stops at
// the first untrusted hop, so nothing a client prepends is believed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { clientAddressOf, createTrustedProxies, parseCidr, parseIp } from './client-address.ts';

void test('CIDRs and addresses, IPv4 and IPv6 (mapped, compressed, zoned)', () => {
  const t = createTrustedProxies(['10.0.0.0/8', '192.168.1.7', 'fd00::/8', '::1']);
  assert.equal(t.trusts('10.200.3.4', 1), true);
  assert.equal(t.trusts('::ffff:10.1.1.1', 1), true);
  assert.equal(t.trusts('11.0.0.1', 1), false);
  assert.equal(t.trusts('192.168.1.7', 1), true);
  assert.equal(t.trusts('192.168.1.8', 1), false);
  assert.equal(t.trusts('fd12:3456::1', 1), true);
  assert.equal(t.trusts('fe80::1%eth0', 1), false);
  assert.equal(t.trusts('::1', 1), true);
  assert.equal(t.trusts('not-an-ip', 1), false);
  for (const bad of ['10.0.0.0/33', '300.1.1.1', '1.2.3', 'fd00::/129', '::1::2', 'x']) assert.equal(parseCidr(bad), null, bad);
  assert.throws(() => createTrustedProxies(['10.0.0.0/99']));
  assert.deepEqual([...(parseIp('2001:db8::192.0.2.1') ?? [])].slice(12), [192, 0, 2, 1]);
});

void test('the walk: the first untrusted hop from the right is the client; the chain is passed on only behind a trusted peer', () => {
  const t = createTrustedProxies(['10.0.0.0/8']);
  assert.deepEqual(clientAddressOf('10.0.0.2', '203.0.113.7', t), { client: '203.0.113.7', forwardedFor: '203.0.113.7, 10.0.0.2' });
  // Two trusted hops (balancer → ingress → router).
  assert.equal(clientAddressOf('10.0.0.2', '203.0.113.7, 10.9.9.9', t).client, '203.0.113.7');
  // A spoofed entry left of the real client is ignored.
  assert.equal(clientAddressOf('10.0.0.2', '1.1.1.1, 203.0.113.7', t).client, '203.0.113.7');
  // An untrusted peer: its header is neither believed nor passed on.
  assert.deepEqual(clientAddressOf('198.51.100.1', '1.1.1.1', t), { client: '198.51.100.1', forwardedFor: '198.51.100.1' });
  // Garbage in the chain stops the walk at the last address a trusted hop vouched for.
  assert.equal(clientAddressOf('10.0.0.2', 'evil, 10.1.1.1', t).client, '10.1.1.1');
  // The older trustForwardedFor: the direct peer is trusted whatever it is, one hop only.
  const peerOnly = createTrustedProxies([], true);
  assert.equal(clientAddressOf('198.51.100.1', '1.1.1.1, 203.0.113.7', peerOnly).client, '203.0.113.7');
  // Nothing trusted: the socket's address, IPv4-mapped form normalised.
  assert.equal(clientAddressOf('::ffff:127.0.0.1', '1.1.1.1', createTrustedProxies([])).client, '127.0.0.1');
});

void test('property: whatever a client prepends to X-Forwarded-For, the client address stays the hop the trusted proxy saw', () => {
  const t = createTrustedProxies(['10.0.0.0/8']);
  const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
  const untrusted = ipv4.filter((a) => !a.startsWith('10.'));
  fc.assert(
    fc.property(fc.array(fc.oneof(ipv4, fc.string())), untrusted, fc.array(fc.nat(255), { maxLength: 3 }), (prefix, real, proxies) => {
      const chain = [...prefix.map((p) => p.replace(/,/g, '')), real, ...proxies.map((n) => `10.0.0.${n}`)].join(', ');
      assert.equal(clientAddressOf('10.1.1.1', chain, t).client, real);
    }),
  );
});
