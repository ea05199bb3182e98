// The SSRF guard: the address classifier (property tests) and the refusal at connect time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { request } from 'undici';
import { FakeOpenAiUpstream } from '../../../test/fakes/fake-openai-upstream.ts';
import { ProviderConfigSchema } from '../ai-config.ts';
import { addressAllowed, classifyAddress, parseV6 } from './address-class.ts';
import { OpenAiProvider } from './openai-provider.ts';
import { createGuardedAgent } from './ssrf-agent.ts';

const octet = fc.integer({ min: 0, max: 255 });
const v4 = (a: number, b: number, c: number, d: number): string => `${a}.${b}.${c}.${d}`;

void test('classifier: every address of the private, loopback and link-local IPv4 ranges is refused', () => {
  fc.assert(
    fc.property(octet, octet, octet, (b, c, d) => {
      assert.equal(classifyAddress(v4(10, b, c, d)), 'private');
      assert.equal(classifyAddress(v4(127, b, c, d)), 'loopback');
      assert.equal(classifyAddress(v4(192, 168, c, d)), 'private');
      assert.equal(classifyAddress(v4(172, 16 + (b % 16), c, d)), 'private');
      assert.equal(classifyAddress(v4(100, 64 + (b % 64), c, d)), 'private');
      const ll = classifyAddress(v4(169, 254, c, d));
      assert.ok(ll === 'link-local' || ll === 'metadata');
      assert.equal(addressAllowed(v4(10, b, c, d), false), false);
      assert.equal(addressAllowed(v4(10, b, c, d), true), true);
    }),
  );
  assert.equal(classifyAddress('169.254.169.254'), 'metadata');
  assert.equal(classifyAddress('8.8.8.8'), 'public');
  assert.equal(classifyAddress('0.0.0.0'), 'reserved');
});

void test('classifier: IPv4-mapped, -compatible, NAT64 and 6to4 IPv6 forms classify as their IPv4 address', () => {
  fc.assert(
    fc.property(octet, octet, octet, octet, (a, b, c, d) => {
      const ip = v4(a, b, c, d);
      const want = classifyAddress(ip);
      const hex = (x: number, y: number): string => ((x << 8) | y).toString(16);
      assert.equal(classifyAddress(`::ffff:${ip}`), want);
      assert.equal(classifyAddress(`::ffff:${hex(a, b)}:${hex(c, d)}`), want);
      assert.equal(classifyAddress(`0:0:0:0:0:ffff:${ip}`), want);
      assert.equal(classifyAddress(`64:ff9b::${ip}`), want);
      assert.equal(classifyAddress(`2002:${hex(a, b)}:${hex(c, d)}::1`), want);
    }),
  );
});

void test('classifier: compressed and expanded IPv6 spellings agree; fc00::/7 and fe80::/10 are refused', () => {
  const group = fc.integer({ min: 0, max: 0xffff });
  fc.assert(
    fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), (g) => {
      const full = g.map((x) => x.toString(16).padStart(4, '0')).join(':');
      const short = g.map((x) => x.toString(16)).join(':');
      assert.deepEqual(parseV6(full), g);
      assert.equal(classifyAddress(full), classifyAddress(short));
      assert.equal(classifyAddress(full.toUpperCase()), classifyAddress(full));
    }),
  );
  fc.assert(
    fc.property(group, group, (x, y) => {
      assert.equal(classifyAddress(`${(0xfc00 | (x & 0x1ff)).toString(16)}::${y.toString(16)}`), 'private');
      assert.equal(classifyAddress(`${(0xfe80 | (x & 0x3f)).toString(16)}::${y.toString(16)}`), 'link-local');
    }),
  );
  assert.equal(classifyAddress('::1'), 'loopback');
  assert.equal(classifyAddress('::'), 'reserved');
  assert.equal(classifyAddress('fd00:ec2::254'), 'metadata');
  assert.equal(classifyAddress('fe80::1%eth0'), 'link-local');
  assert.equal(classifyAddress('2606:4700::1111'), 'public');
  assert.equal(classifyAddress('not-an-ip'), 'invalid');
  assert.equal(addressAllowed('not-an-ip', true), false);
});

void test('the guard refuses loopback at connect time (IP literal and DNS name), and allows it when the operator says so', async (t) => {
  const fake = await FakeOpenAiUpstream.start();
  const port = new URL(fake.url).port;
  const guarded = createGuardedAgent({ allowPrivateNetwork: false, connectTimeoutMs: 2000 });
  const open = createGuardedAgent({ allowPrivateNetwork: true, connectTimeoutMs: 2000 });
  // a resolver that answers a public-looking name with a metadata address (DNS rebinding shape)
  const rebinding = createGuardedAgent({
    allowPrivateNetwork: false,
    connectTimeoutMs: 2000,
    lookup: ((_h: string, _o: unknown, cb: (e: null, a: { address: string; family: number }[]) => void) => cb(null, [{ address: '169.254.169.254', family: 4 }])) as never,
  });
  t.after(async () => { await guarded.close(); await open.close(); await rebinding.close(); await fake.close(); });
  for (const url of [`http://127.0.0.1:${port}/v1/models`, `http://localhost:${port}/v1/models`, `http://[::ffff:127.0.0.1]:${port}/v1/models`]) {
    await assert.rejects(request(url, { dispatcher: guarded }), (e: unknown) => JSON.stringify(e, Object.getOwnPropertyNames(e)).includes('AI_SSRF_BLOCKED') || (e as { code?: string }).code === 'AI_SSRF_BLOCKED', url);
  }
  await assert.rejects(request('http://metadata.example.test/latest', { dispatcher: rebinding }));
  const ok = await request(`http://127.0.0.1:${port}/v1/models`, { dispatcher: open });
  assert.equal(ok.statusCode, 200);
  await ok.body.dump();
  assert.equal(fake.requests.length, 1, 'only the allowed request reached the server');
  // through a provider the refusal is the project's error code
  const p = new OpenAiProvider('openai', ProviderConfigSchema.parse({ kind: 'openai', baseUrl: fake.baseUrl, maxRetries: 0 }), guarded);
  await assert.rejects(p.chat({ model: 'x', messages: [{ role: 'user', content: 'hi' }] }, new AbortController().signal), (e: unknown) => (e as { code?: string }).code === 'AI_SSRF_BLOCKED');
});
