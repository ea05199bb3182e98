// The feature contract (DESIGN §12, issue 10): a feature added in one line registers its config part,
// state.db migrations, HTTP routes (tenant and admin), RPC methods, a WebSocket path and lifecycle hooks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type Database from 'better-sqlite3';
import { WebSocket, WebSocketServer } from 'ws';
import { z } from 'zod';
import { aiFeature } from '../shard/ai/ai-feature.ts';
import { defaultFeatures } from '../shard/app/features.ts';
import { defineFeature, type InactiveReason } from '../shard/app/shard-feature.ts';
import { adminOf, adminRoutes } from '../shard/http/admin-scope.ts';
import { tenantOf } from '../shard/http/tenant-request.ts';
import { defineMethod } from '../shard/rpc/rpc-method.ts';
import { createTenant, rpcCall, startTestShard } from './helpers/shard-fixture.ts';

interface Recorder {
  events: string[];
  /** The state.db handle the feature last used, per tenant (to see when the shard closes it). */
  handles: Map<string, Database.Database>;
}

function testFeature(rec: Recorder) {
  return defineFeature({
    name: 'test-echo',
    config: z.object({ greeting: z.string().max(40).default('hello') }).strict(),
    migrations: { state: [{ version: 1, name: 'notes', sql: 'CREATE TABLE test_echo_notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL);' }] },
    services: (_core, deps) => {
      const wss = new WebSocketServer({ noServer: true });
      return {
        greeting: deps.config.greeting,
        wss,
        close: () => {
          rec.events.push('services closed');
          wss.close();
        },
      };
    },
    routes(app, s, core) {
      app.get('/v1/test-echo', async (req) => ({ tenant: (await tenantOf(req)).id, greeting: s.greeting }));
      adminRoutes(app, core, (scope) => scope.get('/v1/test-echo/admin', async (req) => ({ admin: adminOf(req).type })));
    },
    wsPaths: {
      '/test-echo': ({ req, socket, head }, s) => {
        s.wss.handleUpgrade(req, socket, head, (ws) => ws.send(JSON.stringify({ greeting: s.greeting })));
      },
    },
    rpcMethods: (s) => [
      defineMethod({
        name: 'testEcho.note',
        summary: 'Stores a note in the test feature’s own table.',
        params: z.object({ text: z.string().max(100) }).strict(),
        handler: (ctx, p) => {
          const db = ctx.tenant.stateDb();
          rec.handles.set(ctx.tenant.id, db);
          db.prepare('INSERT INTO test_echo_notes (text) VALUES (?)').run(p.text);
          const { n } = db.prepare('SELECT count(*) AS n FROM test_echo_notes').get() as { n: number };
          return { greeting: s.greeting, notes: n };
        },
      }),
    ],
    async onInactive(tenant, reason: InactiveReason) {
      // Runs before the tenant's databases close: the handle it used is still open here.
      rec.events.push(`stop ${tenant.id} ${reason} db-open=${String(rec.handles.get(tenant.id)?.open)}`);
    },
  });
}

void test('a feature added with one line gets its config, tables, routes, methods, WebSocket path and hooks', async (t) => {
  const rec: Recorder = { events: [], handles: new Map() };
  const shard = await startTestShard(t, { features: [...defaultFeatures, testFeature(rec)], config: { features: { 'test-echo': { greeting: 'ahoy' } } } });
  const a = await createTenant(shard, 'fa');

  // RPC method (over /rpc), writing to the feature's own migrated table.
  const noted = await rpcCall(shard, a.token, 'testEcho.note', { text: 'one' });
  assert.deepEqual(noted.result, { greeting: 'ahoy', notes: 1 });
  const db = rec.handles.get('fa');
  assert.ok(db !== undefined);
  const applied = db.prepare("SELECT feature, version FROM feature_migrations WHERE feature IN ('test-echo', 'ai') ORDER BY feature").all();
  assert.deepEqual(applied, [{ feature: 'ai', version: 1 }, { feature: 'test-echo', version: 1 }]);

  // Tenant route and admin route (the admin scope's hook refuses a tenant token).
  const mine = await fetch(`${shard.url}/v1/test-echo`, { headers: { authorization: `Bearer ${a.token}` } });
  assert.deepEqual(await mine.json(), { tenant: 'fa', greeting: 'ahoy' });
  assert.equal((await fetch(`${shard.url}/v1/test-echo/admin`, { headers: { authorization: `Bearer ${a.token}` } })).status, 403);
  assert.deepEqual(await (await shard.admin('/v1/test-echo/admin')).json(), { admin: 'admin' });
  assert.ok(shard.routes.some((r) => r.url === '/v1/test-echo/admin'), 'the isolation sweep sees feature routes');

  // WebSocket path.
  const ws = new WebSocket(`${shard.url.replace('http', 'ws')}/test-echo`);
  t.after(() => ws.close());
  const hello = await new Promise<string>((resolve, reject) => {
    ws.once('message', (d) => resolve(d.toString()));
    ws.once('error', reject);
  });
  assert.deepEqual(JSON.parse(hello), { greeting: 'ahoy' });
  ws.close();

  // Lifecycle: the hook is on the services' list, and a freeze stops the feature before databases close.
  assert.ok(shard.services.featureHooks.some((h) => h.name === 'test-echo' && h.onInactive !== undefined));
  assert.equal((await shard.admin('/v1/tenants/fa/freeze', { method: 'POST' })).status, 200);
  assert.deepEqual(rec.events, ['stop fa frozen db-open=true']);
  assert.equal(db.open, false, 'databases closed after the stop hook');

  await shard.close();
  assert.equal(rec.events.at(-1), 'services closed');
});

void test('a feature config part is validated at start-up, and an unknown feature section is refused', async (t) => {
  const rec: Recorder = { events: [], handles: new Map() };
  await assert.rejects(startTestShard(t, { features: [...defaultFeatures, testFeature(rec)], config: { features: { 'test-echo': { greeting: 7 } } } }), (err: { code?: string; message?: string }) => {
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.match(err.message ?? '', /features\.test-echo: greeting/);
    return true;
  });
  await assert.rejects(startTestShard(t, { config: { features: { 'no-such': {} } } }), { code: 'CONFIG_INVALID' });
});

void test('a feature runs agent turns through the AI feature’s RunService: admitted, recorded, replayed by key', async (t) => {
  const events: string[] = [];
  const turnFeature = defineFeature({
    name: 'test-turns',
    services: (_core, deps) => ({ runs: deps.servicesOf(aiFeature).runs, close: () => undefined }),
    rpcMethods: ({ runs }) => [
      defineMethod({
        name: 'testTurns.fire',
        summary: 'Runs one echo turn in session "cron-1" under an idempotency key (what a cron job would do).',
        params: z.object({ key: z.string().max(40) }).strict(),
        handler: async (ctx, p) => {
          const now = new Date().toISOString();
          const agent = { name: '', model: 'echo', systemPrompt: '', tools: [], memory: false, maxToolSteps: 0, createdAt: now, updatedAt: now };
          const r = await runs.startTurn({
            tenant: ctx.tenant,
            session: 'cron-1',
            input: { kind: 'agent', agent: () => agent, messages: [{ role: 'user', content: 'tick' }], fingerprint: 'tick' },
            idempotencyKey: p.key,
            signal: ctx.signal,
            onEvent: (e) => events.push(e.type),
          });
          return { status: r.status, runId: r.runId };
        },
      }),
    ],
  });
  const shard = await startTestShard(t, { features: [...defaultFeatures, turnFeature] });
  const a = await createTenant(shard, 'ta');
  const first = (await rpcCall(shard, a.token, 'testTurns.fire', { key: 'k1' })).result as { status: string; runId: string };
  assert.equal(first.status, 'final');
  assert.deepEqual([...new Set(events)], ['started', 'chunk', 'final']);
  const again = (await rpcCall(shard, a.token, 'testTurns.fire', { key: 'k1' })).result as { status: string; runId: string };
  assert.deepEqual(again, { status: 'replayed', runId: first.runId });
  const history = (await rpcCall(shard, a.token, 'chat.history', { sessionId: 'cron-1' })).result as { messages: { role: string }[] };
  assert.deepEqual(history.messages.map((m) => m.role), ['user', 'assistant'], 'the replay ran nothing');
  const usage = (await rpcCall(shard, a.token, 'tenants.usage', {})).result as { day: { requests: number } };
  assert.equal(usage.day.requests, 1, 'one ledger row');
});
