// What OpenAI-style clients and browsers meet at the router (issue 17): OpenAI's error shape on the
// OpenAI-compatible paths, 401 for a key that is not a tenant token, x-api-key, and CORS.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import OpenAI from 'openai';
import { startRouter, createRouterLogger, type RunningRouter } from './start-router.ts';
import { parseRouterConfig } from './router-config.ts';
import { parseManifest, serializeManifest } from '../manifest/manifest-schema.ts';
import { startTestFleet, type TestFleet } from '../../test/helpers/router-fleet-fixture.ts';
import { tempDir } from '../../test/helpers/shard-fixture.ts';

async function routerOn(t: TestContext, manifest: string, extra: Record<string, unknown> = {}): Promise<RunningRouter> {
  const router = await startRouter(parseRouterConfig({ port: 0, manifest, logLevel: 'silent', ...extra }), { log: createRouterLogger('silent') });
  t.after(() => router.close());
  return router;
}

async function tenant(router: RunningRouter, fleet: TestFleet, id: string): Promise<string> {
  const res = await fetch(`${router.url}/v1/tenants`, { method: 'POST', headers: { authorization: `Bearer ${fleet.adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ id }) });
  assert.equal(res.status, 201);
  return ((await res.json()) as { token: string }).token;
}

function assertOpenAiShape(body: unknown, code: string, what: string): void {
  const e = (body as { error?: Record<string, unknown> }).error;
  assert.ok(e !== undefined, `${what}: an error object`);
  assert.equal(typeof e['message'], 'string', `${what}: message`);
  assert.equal(typeof e['type'], 'string', `${what}: type`);
  assert.ok('param' in e, `${what}: param`);
  assert.equal(e['code'], code, `${what}: code`);
}

/** A port with nothing listening (a shard that is down). */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

void test('regression issue 17: a key that is not a tenant token gets 401 in OpenAI\'s shape from the official client, not 404', async (t) => {
  const fleet = await startTestFleet(t, 1);
  for (const fastPath of [true, false]) {
    const router = await routerOn(t, fleet.manifestPath, { fastPath });
    const client = new OpenAI({ apiKey: 'sk-proj-not-a-tenant-token', baseURL: `${router.url}/v1`, maxRetries: 0 });
    const err = await client.models.list().then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(err instanceof OpenAI.AuthenticationError, `fastPath=${fastPath}: ${String(err)}`);
    assert.equal(err.status, 401);
    assert.equal(err.type, 'authentication_error');
    assert.equal(err.code, 'AUTH_INVALID');
  }
});

void test('every error the router makes on an OpenAI path has OpenAI\'s shape; the control plane keeps the project\'s', async (t) => {
  const fleet = await startTestFleet(t, 1);
  const dir = tempDir(t, 'ocmu-compat-');
  const downManifest = join(dir, 'down.json');
  writeFileSync(downManifest, serializeManifest(parseManifest({ version: 1, shards: [{ id: 'gone', url: `http://127.0.0.1:${await deadPort()}`, weight: 1 }] })));
  const token = `tk_acme_${'a'.repeat(32)}`;
  for (const fastPath of [true, false]) {
    const ok = await routerOn(t, fleet.manifestPath, { fastPath, authThrottle: { limit: 1, windowMs: 60_000 } });
    const down = await routerOn(t, downManifest, { fastPath });
    const noManifest = await routerOn(t, join(dir, 'missing.json'), { fastPath });
    const cases: Array<[string, string, RequestInit, string]> = [
      ['no credential', `${ok.url}/v1/chat/completions`, { method: 'POST', body: '{}' }, 'ROUTER_NO_TENANT'],
      ['not a tenant token', `${ok.url}/v1/embeddings`, { method: 'POST', headers: { authorization: 'Bearer sk-x' }, body: '{}' }, 'AUTH_INVALID'],
      ['shard down', `${down.url}/v1/models`, { headers: { authorization: `Bearer ${token}` } }, 'ROUTER_UPSTREAM_DOWN'],
      ['no manifest', `${noManifest.url}/v1/models`, { headers: { authorization: `Bearer ${token}` } }, 'ROUTER_MANIFEST_UNAVAILABLE'],
    ];
    for (const [what, url, init, code] of cases) {
      const res = await fetch(url, init);
      assert.equal(res.headers.get('x-openclawmu-error-source'), 'router', `${what}: made by the router`);
      assertOpenAiShape(await res.json(), code, `fastPath=${fastPath} ${what}`);
    }
    // Declared too large: refused before the body is read.
    const tooLarge = await new Promise<{ status: number; source: string | undefined; body: string }>((resolve, reject) => {
      const req = httpRequest(`${ok.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-length': String(64 * 1024 * 1024) } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, source: res.headers['x-openclawmu-error-source'] as string | undefined, body: text }));
      });
      req.on('error', reject);
      req.write('{}');
    });
    assert.equal(tooLarge.status, 413);
    assertOpenAiShape(JSON.parse(tooLarge.body), 'BODY_TOO_LARGE', `fastPath=${fastPath} too large`);
    // Throttled (the shard's 401 counts once, then the router answers).
    await (await fetch(`${ok.url}/v1/models`, { headers: { authorization: `Bearer ${token}` } })).arrayBuffer();
    const throttled = await fetch(`${ok.url}/v1/models`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(throttled.status, 429);
    const body = (await throttled.json()) as { error: { type: string } };
    assertOpenAiShape(body, 'AUTH_TOO_MANY_FAILURES', 'throttled');
    assert.equal(body.error.type, 'rate_limit_error');
    // The control plane under /v1 keeps {error: {code, message}}.
    const control = (await (await fetch(`${ok.url}/v1/fleet`)).json()) as { error: Record<string, unknown> };
    assert.equal(control.error['code'], 'AUTH_REQUIRED');
    assert.equal(control.error['type'], undefined);
  }
});

void test('regression issue 17: x-api-key carries a tenant token through the router (both paths) and into the shard', async (t) => {
  const fleet = await startTestFleet(t, 2);
  for (const fastPath of [true, false]) {
    const router = await routerOn(t, fleet.manifestPath, { fastPath });
    const token = await tenant(router, fleet, `apikey${fastPath ? 'f' : 'c'}`);
    const res = await fetch(`${router.url}/v1/models`, { headers: { 'x-api-key': token } });
    assert.equal(res.status, 200, await res.clone().text());
    const rpc = await fetch(`${router.url}/rpc`, { method: 'POST', headers: { 'x-api-key': token, 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'health' }) });
    assert.equal(((await rpc.json()) as { result: { tenant: string } }).result.tenant, `apikey${fastPath ? 'f' : 'c'}`);
    const wrong = await fetch(`${router.url}/v1/models`, { headers: { 'x-api-key': token.slice(0, -1) + (token.endsWith('0') ? '1' : '0') } });
    assert.equal(wrong.status, 401);
  }
  // A lone shard (a documented deployment) takes it too.
  const router = await routerOn(t, fleet.manifestPath);
  const token = await tenant(router, fleet, 'apikeydirect');
  const direct = await Promise.all(fleet.shards.map((s) => fetch(`${s.url}/v1/models`, { headers: { 'x-api-key': token } })));
  assert.ok(direct.some((r) => r.status === 200), `the owner shard accepts it: ${direct.map((r) => r.status).join(', ')}`);
});

void test('regression issue 17: CORS for configured origins; the router answers preflights itself, other origins get no grant', async (t) => {
  const fleet = await startTestFleet(t, 1);
  for (const fastPath of [true, false]) {
    const router = await routerOn(t, fleet.manifestPath, { fastPath, cors: { origins: ['https://chat.example.com'] }, adminKeyHashes: [createHash('sha256').update(fleet.adminKey).digest('hex')] });
    const token = await tenant(router, fleet, `cors${fastPath ? 'f' : 'c'}`);
    const preflight = await fetch(`${router.url}/v1/chat/completions`, {
      method: 'OPTIONS',
      headers: { origin: 'https://chat.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type, x-stainless-os' },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), 'https://chat.example.com');
    assert.match(preflight.headers.get('access-control-allow-methods') ?? '', /POST/);
    assert.equal(preflight.headers.get('access-control-allow-headers'), 'authorization, content-type, x-stainless-os');
    assert.equal(preflight.headers.get('x-openclawmu-shard'), null, 'no shard was asked');
    const actual = await fetch(`${router.url}/v1/models`, { headers: { origin: 'https://chat.example.com', authorization: `Bearer ${token}` } });
    assert.equal(actual.status, 200);
    assert.equal(actual.headers.get('access-control-allow-origin'), 'https://chat.example.com');
    assert.match(actual.headers.get('access-control-expose-headers') ?? '', /x-request-id/);
    assert.match(actual.headers.get('vary') ?? '', /Origin/i);
    // Errors carry the grant too, or the browser hides them from the page.
    const refused = await fetch(`${router.url}/v1/models`, { headers: { origin: 'https://chat.example.com' } });
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get('access-control-allow-origin'), 'https://chat.example.com');
    const evil = await fetch(`${router.url}/v1/chat/completions`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    assert.equal(evil.headers.get('access-control-allow-origin'), null);
    const evilGet = await fetch(`${router.url}/v1/models`, { headers: { origin: 'https://evil.example', authorization: `Bearer ${token}` } });
    assert.equal(evilGet.headers.get('access-control-allow-origin'), null);
  }
  // Off by default: no grant to anyone.
  const plain = await routerOn(t, fleet.manifestPath);
  const pre = await fetch(`${plain.url}/v1/models`, { method: 'OPTIONS', headers: { origin: 'https://chat.example.com', 'access-control-request-method': 'GET' } });
  assert.equal(pre.headers.get('access-control-allow-origin'), null);
});
