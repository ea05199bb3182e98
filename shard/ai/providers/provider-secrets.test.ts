// Issue 11 item 11: a provider's API key and configured header values never reach a tenant, in a
// 4xx answer or a mid-stream error, for either wire format, wherever the upstream's text is cut.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { test, type TestContext } from 'node:test';
import { ProviderConfigSchema } from '../ai-config.ts';
import { AnthropicProvider } from './anthropic-provider.ts';
import { OpenAiProvider } from './openai-provider.ts';
import type { Provider } from './provider.ts';
import { MIN_REDACTED_LENGTH, providerSecrets, safeUpstreamText } from './provider-secrets.ts';
import { createGuardedAgent } from './ssrf-agent.ts';

const API_KEY = 'sk-live-0123456789abcdef';
const HEADER_SECRET = 'azure-key-fedcba9876543210';

/** An upstream that echoes every credential it was sent, padded so that one straddles each cut. */
type Mode = 'status-400' | 'midstream';
function echoOf(req: IncomingMessage): string {
  const creds = [req.headers['authorization'], req.headers['x-api-key'], req.headers['api-key']].filter((v) => typeof v === 'string').map((v) => String(v).replace(/^Bearer /, ''));
  return creds.join(' ');
}

async function upstream(t: TestContext, mode: Mode, pad: number): Promise<string> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      const message = `${'x'.repeat(pad)}${echoOf(req)}`;
      if (mode === 'status-400') {
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message, type: 'invalid_request_error' } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (req.url?.includes('/messages') === true) res.end(`event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message } })}\n\n`);
      else res.end(`data: ${JSON.stringify({ error: { message } })}\n\n`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

function providerFor(t: TestContext, kind: 'openai' | 'anthropic', baseUrl: string): Provider {
  const cfg = ProviderConfigSchema.parse({
    kind,
    baseUrl: kind === 'openai' ? `${baseUrl}/v1` : baseUrl,
    apiKey: API_KEY,
    headers: { 'api-key': HEADER_SECRET },
    allowPrivateNetwork: true,
    maxRetries: 0,
  });
  const agent = createGuardedAgent({ allowPrivateNetwork: true, connectTimeoutMs: 2000 });
  t.after(() => agent.close());
  return kind === 'openai' ? new OpenAiProvider('p', cfg, agent) : new AnthropicProvider('p', cfg, agent);
}

/** Any 8+ character piece of a secret counts as a leak (a prefix cut at a boundary included). */
function assertNoSecret(text: string): void {
  for (const secret of [API_KEY, HEADER_SECRET]) {
    for (let i = 0; i + MIN_REDACTED_LENGTH <= secret.length; i++) {
      assert.ok(!text.includes(secret.slice(i, i + MIN_REDACTED_LENGTH)), `leaked part of a secret: ${text.slice(-120)}`);
    }
  }
}

async function errorText(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
  } catch (e) {
    return JSON.stringify({ m: (e as Error).message, d: (e as { details?: unknown }).details });
  }
  throw new Error('expected the call to fail');
}

for (const kind of ['openai', 'anthropic'] as const) {
  for (const mode of ['status-400', 'midstream'] as const) {
    // pads put the echoed key across the 200/300/500-character cuts and well inside them
    for (const pad of [0, 190, 290, 488]) {
      void test(`issue 11: ${kind} ${mode} error with the credentials at offset ${pad} reaches the caller redacted`, async (t) => {
        const p = providerFor(t, kind, await upstream(t, mode, pad));
        const req = { model: 'm', messages: [{ role: 'user' as const, content: 'hi' }] };
        const text = await errorText(async () => {
          if (mode === 'status-400') return p.chat(req, new AbortController().signal);
          for await (const c of p.chatStream(req, new AbortController().signal)) void c;
          return undefined;
        });
        assertNoSecret(text);
      });
    }
  }
}

void test('the rule: every configured secret is redacted before any cut, at every cut position', () => {
  const secrets = providerSecrets({ apiKey: API_KEY, headers: { 'api-key': HEADER_SECRET, 'x-debug': '1' } });
  assert.deepEqual(secrets, [HEADER_SECRET, API_KEY], 'short header values are not treated as secrets');
  const text = `prefix ${API_KEY} middle ${HEADER_SECRET} end`;
  for (let max = 0; max <= text.length; max++) assertNoSecret(safeUpstreamText(text, secrets, max));
});
