// Backup and restore through the router: a restore names its tenant in the body, so the router
// sends it to the shard that placement names for the restored id (not to a tenant called "restore").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { manifestStore } from '../router/manifest/manifest-store.ts';
import { initPlacement } from '../router/placement/rendezvous.ts';
import { tenantFromRestoreBody } from '../router/core/request-tenant.ts';
import { startTestFleet } from './helpers/fleet-fixture.ts';
import { spawn } from 'node:child_process';

const BIN = new URL('../ops/bin/openclawmu.mjs', import.meta.url).pathname;

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const enc = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));

test('the restore target comes from `as`, else from the snapshot key', () => {
  const key = 'tenants/acme/snapshots/20261123T234231123Z-0a1b2c3d.tar.zst';
  assert.equal(tenantFromRestoreBody(enc({ from: key, as: 'copy_1' }))?.tenantId, 'copy_1');
  assert.equal(tenantFromRestoreBody(enc({ from: key }))?.tenantId, 'acme');
  assert.equal(tenantFromRestoreBody(enc({ from: '../etc/passwd' })), null);
  assert.equal(tenantFromRestoreBody(enc({ from: 'tenants/acme/snapshots/x', as: 'BAD' })), null);
  assert.equal(tenantFromRestoreBody(new TextEncoder().encode('{nope')), null);
});

test('regression issue 11 item 12: every documented form of --from names the tenant to route by', () => {
  const snap = '20261123T234231123Z-0a1b2c3d';
  for (const from of [`tenants/acme/snapshots/${snap}.tar.zst`, `tenants/acme/snapshots/${snap}.json`, `acme/${snap}`]) {
    assert.equal(tenantFromRestoreBody(enc({ from }))?.tenantId, 'acme', from);
  }
  for (const from of ['acme', `acme/${snap}/x`, `../acme/${snap}`, `Acme/${snap}`, `tenants/acme/snapshots/${snap}`]) {
    assert.equal(tenantFromRestoreBody(enc({ from })), null, from);
  }
});

test('regression issue 11 item 12: restore --from <id>/<snapshot> through the router and the CLI', { timeout: 120_000 }, async (t) => {
  const fleet = await startTestFleet(t, { shards: 2 });
  const created = await fleet.admin('/v1/tenants', { body: { id: 'shortform' } });
  assert.equal(created.status, 201);
  const backup = await fleet.admin('/v1/tenants/shortform/backups', { body: {} });
  assert.equal(backup.status, 201, await backup.clone().text());
  const { id: snapshotId } = (await backup.json()) as { id: string };
  const viaRouter = await fleet.admin('/v1/tenants/restore', { body: { from: `shortform/${snapshotId}`, force: true } });
  assert.equal(viaRouter.status, 201, await viaRouter.clone().text());
  assert.equal(((await viaRouter.json()) as { id: string }).id, 'shortform');
  const viaCli = await cli(['tenants', 'restore', '--from', `shortform/${snapshotId}`, '--as', 'shortcopy', '--json', '--url', fleet.router.url, '--admin-key', fleet.adminKey, '--data', fleet.dir]);
  assert.equal(viaCli.code, 0, viaCli.stderr + viaCli.stdout);
  assert.equal((JSON.parse(viaCli.stdout) as { id: string }).id, 'shortcopy');
});

test('backup then restore --as through the router lands on the owner of the new id and serves', { timeout: 120_000 }, async (t) => {
  const fleet = await startTestFleet(t, { shards: 3 });
  const placement = await initPlacement();
  const manifest = (await manifestStore(fleet.blob).read())?.manifest;
  assert.ok(manifest !== undefined);
  // A source and a target id that placement puts on different shards.
  const source = 'src';
  const target = Array.from({ length: 50 }, (_, i) => `copy${i}`).find((id) => placement.ownerOf(id, manifest) !== placement.ownerOf(source, manifest));
  assert.ok(target !== undefined);
  const created = (await (await fleet.admin('/v1/tenants', { body: { id: source } })).json()) as { token: string };
  await fleet.rpc(created.token, { jsonrpc: '2.0', id: 1, method: 'config.set', params: { path: 'labels.note', value: 'from-src' } });
  const backup = await fleet.admin(`/v1/tenants/${source}/backups`, { body: {} });
  assert.equal(backup.status, 201, await backup.clone().text());
  const { key } = (await backup.json()) as { key: string };
  const restored = await fleet.admin('/v1/tenants/restore', { body: { from: key, as: target } });
  assert.equal(restored.status, 201, await restored.clone().text());
  const body = (await restored.json()) as { id: string; token: string };
  assert.equal(body.id, target);
  const owner = fleet.shards.get(placement.ownerOf(target, manifest) ?? '');
  assert.ok(owner?.services.store.get(target) !== undefined, 'restored on the owner placement names');
  const cfg = await fleet.rpc(body.token, { jsonrpc: '2.0', id: 1, method: 'config.get' });
  assert.equal(((await cfg.json()) as { result: { labels: Record<string, string> } }).result.labels['note'], 'from-src');
  const bad = await fleet.admin('/v1/tenants/restore', { body: { from: 'nonsense' } });
  assert.equal(bad.status, 400);
});
