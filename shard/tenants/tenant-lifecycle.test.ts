// TenantLifecycle on real SQLite files: one deactivation at a time per tenant, hook failures do not
// keep databases open, a lease taken during a deactivation waits and gets a freshly activated tenant.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { openMemoryDb } from '../memory/memory-db.ts';
import { CORE_STATE_MIGRATIONS } from './state-migrations.ts';
import { TenantDatabases } from './tenant-databases.ts';
import { TenantLifecycle, type LifecycleHooks } from './tenant-lifecycle.ts';

function lifecycle(t: TestContext, hooks: LifecycleHooks[], errors: string[] = []): { lc: TenantLifecycle; databases: TenantDatabases } {
  const root = mkdtempSync(join(tmpdir(), 'ocmu-lc-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const databases = new TenantDatabases({ openMemoryDb, stateMigrations: [{ feature: 'shard', migrations: CORE_STATE_MIGRATIONS }] });
  t.after(() => databases.closeAll());
  const dirOf = (id: string): string => {
    const d = join(root, id);
    mkdirSync(d, { recursive: true });
    return d;
  };
  const lc = new TenantLifecycle({
    databases,
    dirOf,
    limits: { residentTenants: 10, idleSeconds: 60 },
    nowMs: () => 0,
    hooks,
    onHookError: (_err, info) => errors.push(`${info.hook}:${info.phase}`),
  });
  return { lc, databases };
}

void test('concurrent deactivations of one tenant share one run of the hooks', async (t) => {
  let stops = 0;
  const { lc, databases } = lifecycle(t, [{ name: 'counter', onInactive: async () => void stops++ }]);
  await lc.activate('a');
  lc.stateDb('a');
  await Promise.all([lc.deactivate('a', 'frozen'), lc.deactivate('a', 'idle'), lc.deactivate('a', 'shutdown')]);
  assert.equal(stops, 1);
  assert.equal(databases.isOpen('a'), false);
  assert.equal(lc.residentCount(), 0);
});

void test('a failing hook is reported; later hooks still run and the databases still close', async (t) => {
  const errors: string[] = [];
  const ran: string[] = [];
  const { lc, databases } = lifecycle(
    t,
    [
      { name: 'broken', onInactive: async () => Promise.reject(new Error('boom')) },
      { name: 'after', onInactive: async () => void ran.push('after') },
    ],
    errors,
  );
  lc.stateDb('a');
  await lc.deactivate('a', 'moved');
  assert.deepEqual(errors, ['broken:inactive']);
  assert.deepEqual(ran, ['after']);
  assert.equal(databases.isOpen('a'), false);
});

void test('a lease asked for during a deactivation waits for it, then gets a freshly activated tenant', async (t) => {
  const events: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let entered!: () => void;
  const stoppingSeen = new Promise<void>((r) => (entered = r));
  const { lc } = lifecycle(t, [
    { name: 'probe', onActive: async () => void events.push('active'), onInactive: async () => (events.push('stopping'), entered(), gate) },
  ]);
  await lc.activate('a');
  const db = lc.stateDb('a');
  const stopping = lc.deactivate('a', 'evicted');
  const leased = lc.lease('a').then((l) => (events.push('leased'), l));
  await stoppingSeen;
  assert.deepEqual([...events], ['active', 'stopping'], 'the lease is not granted while the tenant is stopping');
  release();
  await stopping;
  const lease = await leased;
  assert.deepEqual(events, ['active', 'stopping', 'active', 'leased']);
  assert.equal(db.open, false, 'the old handle was closed by the deactivation');
  assert.equal(lc.stateDb('a').open, true, 'the lease holder gets a new, open handle');
  lease.release();
});

void test('evict never picks a leased tenant, and idle eviction happens after release', async (t) => {
  let now = 0;
  const root = mkdtempSync(join(tmpdir(), 'ocmu-lc-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const databases = new TenantDatabases({ openMemoryDb, stateMigrations: [{ feature: 'shard', migrations: CORE_STATE_MIGRATIONS }] });
  t.after(() => databases.closeAll());
  const lc = new TenantLifecycle({ databases, dirOf: (id) => (mkdirSync(join(root, id), { recursive: true }), join(root, id)), limits: { residentTenants: 1, idleSeconds: 1 }, nowMs: () => now });
  const lease = await lc.lease('a');
  lc.stateDb('a');
  now = 5000;
  assert.equal(await lc.evict(), 0);
  lease.release();
  now = 7000;
  assert.equal(await lc.evict(), 1);
  assert.equal(databases.isOpen('a'), false);
});
