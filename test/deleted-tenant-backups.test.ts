// Issue 11 item 6: deleting a tenant takes its backups out of its id's reach: a new tenant created
// with the same id lists none of them and cannot restore them; the operator's retention keeps them
// (under an unguessable prefix) or deletes them, and kept sets are purged after it.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { openBlobStore } from '../router/index.ts';
import { DELETED_TENANTS_PREFIX, purgeExpiredDeletedBackups, retireTenantBackups } from '../shard/snapshot/deleted-tenant-backups.ts';
import { createTenant, rpcCall, startTestShard, tempDir } from './helpers/shard-fixture.ts';

test('issue 11 item 6: a new tenant with a deleted tenant\'s id never lists or restores its backups', async (t) => {
  const root = tempDir(t);
  const blobUrl = pathToFileURL(join(root, 'blobs')).href;
  // one resident tenant at most, so the deleted tenant is not resident when it is deleted
  const shard = await startTestShard(t, { config: { blob: blobUrl, limits: { residentTenants: 1 } } });
  const first = await createTenant(shard, 'ghost');
  await rpcCall(shard, first.token, 'config.set', { path: 'timezone', value: 'Asia/Tokyo' });
  const made = await shard.admin('/v1/tenants/ghost/backups', { body: {} });
  assert.equal(made.status, 201);
  const oldKey = ((await made.json()) as { key: string }).key;
  const bystander = await createTenant(shard, 'bystander');
  await rpcCall(shard, bystander.token, 'config.get');
  assert.equal((await shard.admin('/v1/tenants/ghost?confirm=true', { method: 'DELETE' })).status, 200);

  const second = await createTenant(shard, 'ghost');
  const listed = await rpcCall(shard, second.token, 'tenants.backups.list');
  assert.deepEqual((listed.result as { backups: unknown[] }).backups, [], 'the new tenant lists none');
  const adminList = (await (await shard.admin('/v1/tenants/ghost/backups')).json()) as { backups: unknown[] };
  assert.deepEqual(adminList.backups, []);
  const restore = await shard.admin('/v1/tenants/restore', { body: { from: oldKey, force: true } });
  assert.equal(restore.status, 404, 'the old key no longer restores');
  const cfg = (await rpcCall(shard, second.token, 'config.get')).result;
  assert.ok(!JSON.stringify(cfg).includes('Asia/Tokyo'), 'the old tenant\'s data did not come back');
  // Kept for the default retention under an unguessable prefix, with a marker.
  const blob = openBlobStore(blobUrl);
  t.after(() => blob.close());
  const kept = await blob.list(`${DELETED_TENANTS_PREFIX}ghost/`);
  assert.ok(kept.some((o) => /^deleted-tenants\/ghost\/[0-9a-f]{32}\/deleted\.json$/.test(o.key)));
  assert.ok(kept.some((o) => o.key.endsWith('.tar.zst')));
});

test('the rule: deleted backups leave the id\'s prefix; retention 0 deletes them at once; kept sets are purged after retention', async (t) => {
  const blob = openBlobStore(pathToFileURL(join(tempDir(t), 'blobs')).href);
  t.after(() => blob.close());
  const seed = async (id: string): Promise<void> => {
    await blob.put(`tenants/${id}/snapshots/20261129T120000000Z-0000000a.tar.zst`, 'archive');
    await blob.put(`tenants/${id}/snapshots/20261129T120000000Z-0000000a.json`, '{}');
  };
  const now = new Date(Date.UTC(2026, 10, 29, 12));
  await seed('zero');
  const r0 = await retireTenantBackups(blob, 'zero', now, 0);
  assert.deepEqual(r0, { objects: 2, keptUnder: null, purgeAfter: null });
  assert.deepEqual(await blob.list('tenants/zero/'), []);
  assert.deepEqual(await blob.list(`${DELETED_TENANTS_PREFIX}zero/`), []);

  await seed('kept');
  const r1 = await retireTenantBackups(blob, 'kept', now, 2);
  assert.deepEqual(await blob.list('tenants/kept/'), []);
  assert.equal((await blob.list(r1.keptUnder ?? 'none')).length, 3);
  assert.equal(await purgeExpiredDeletedBackups(blob, new Date(now.getTime() + 86_400_000)), 0, 'inside retention: kept');
  assert.equal(await purgeExpiredDeletedBackups(blob, new Date(now.getTime() + 3 * 86_400_000)), 1, 'past retention: purged');
  assert.deepEqual(await blob.list(DELETED_TENANTS_PREFIX), []);
  // Two deletions of the same id never share a prefix.
  await seed('kept');
  const r2 = await retireTenantBackups(blob, 'kept', now, 2);
  await seed('kept');
  const r3 = await retireTenantBackups(blob, 'kept', now, 2);
  assert.notEqual(r2.keptUnder, r3.keptUnder);
});
