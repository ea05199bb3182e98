// Backups over a real shard: control plane (create/list/delete/restore, --as, --force, NDJSON progress) and RPC.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Writable } from 'node:stream';
import { mintAdminKey, openBlobStore } from '../../router/index.ts';
import { startShard, type RunningShard } from '../app/start-shard.ts';
import { sha256Hex } from '../auth/token-hash.ts';
import { parseShardConfig } from '../config/shard-config.ts';
import { createLogger } from '../observability/logger.ts';
import { craftTar, publishSnapshot, zstd } from '../../test/archive-corpus/craft-archive.ts';

interface Harness {
  shard: RunningShard;
  blobUrl: string;
  admin(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: Record<string, unknown>; text: string }>;
  rpc(token: string, method: string, params?: unknown): Promise<{ result?: Record<string, unknown>; error?: { code: number; data?: { code: string } } }>;
}

async function harness(t: TestContext, withBlob = true): Promise<Harness> {
  const root = mkdtempSync(join(tmpdir(), 'ocm-backup-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const adminKey = mintAdminKey();
  const blobUrl = pathToFileURL(join(root, 'blobs')).href;
  const config = parseShardConfig({
    id: 's1',
    port: 0,
    dataDir: join(root, 'data'),
    logLevel: 'warn',
    adminKeyHashes: [sha256Hex(adminKey)],
    ...(withBlob ? { blob: blobUrl } : {}),
  });
  const log = createLogger({ level: 'warn', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
  const shard = await startShard(config, { log });
  t.after(() => shard.close());
  return {
    shard,
    blobUrl,
    async admin(method, path, body, headers = {}) {
      const res = await fetch(shard.url + path, {
        method,
        headers: { authorization: `Bearer ${adminKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      let parsed: Record<string, unknown> = {};
      try {
        parsed = JSON.parse(text) as Record<string, unknown>;
      } catch {
        /* NDJSON */
      }
      return { status: res.status, body: parsed, text };
    },
    async rpc(token, method, params) {
      const res = await fetch(`${shard.url}/rpc`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: params ?? {} }),
      });
      return (await res.json()) as { result?: Record<string, unknown>; error?: { code: number; data?: { code: string } } };
    },
  };
}

const errCode = (r: { body: Record<string, unknown> }): unknown => (r.body.error as { code?: string } | undefined)?.code;

void test('backup, list, restore under a new id with a new token, restore over the original with force, delete', async (t) => {
  const h = await harness(t);
  const created = await h.admin('POST', '/v1/tenants', { id: 'acme' });
  assert.equal(created.status, 201);
  const token = created.body.token as string;
  const dir = h.shard.services.store.dirOf('acme');
  writeFileSync(join(dir, 'marker.txt'), 'before');

  const backup = await h.admin('POST', '/v1/tenants/acme/backups');
  assert.equal(backup.status, 201, backup.text);
  const key = backup.body.key as string;
  assert.match(key, /^tenants\/acme\/snapshots\/.+\.tar\.zst$/);
  assert.match(backup.body.sha256 as string, /^[0-9a-f]{64}$/);
  assert.ok((backup.body.bytes as number) > 0);
  assert.ok(!backup.text.includes(token), 'no token in the answer');

  // The tenant itself, over JSON-RPC.
  const self = await h.rpc(token, 'tenants.backup');
  assert.equal(self.error, undefined, JSON.stringify(self.error));
  const again = await h.rpc(token, 'tenants.backup');
  assert.equal(again.error?.data?.code, 'QUOTA_REQUESTS_MINUTE', 'a tenant may start one backup per minute');
  const listed = await h.rpc(token, 'tenants.backups.list');
  assert.equal((listed.result?.backups as unknown[]).length, 2);
  const adminList = await h.admin('GET', '/v1/tenants/acme/backups');
  assert.deepEqual((adminList.body.backups as { key: string }[]).map((b) => b.key)[0], key);

  // The archive holds no token: tenant.json keeps only hashes.
  const blob = openBlobStore(h.blobUrl);
  t.after(() => blob.close());
  const manifest = (await blob.get(key.replace(/\.tar\.zst$/, '.json')))?.body.toString() ?? '';
  assert.ok(manifest.includes('tenant.json') && !manifest.includes(token));

  // Restore as a new tenant: a new token that names the new id; the original is untouched.
  const copy = await h.admin('POST', '/v1/tenants/restore', { from: key, as: 'acme-copy' });
  assert.equal(copy.status, 201, copy.text);
  assert.equal(copy.body.id, 'acme-copy');
  const copyToken = copy.body.token as string;
  assert.match(copyToken, /^tk_acme-copy_[0-9a-f]{32}$/);
  assert.equal((await h.rpc(copyToken, 'tenants.get')).result?.id, 'acme-copy');
  assert.equal((await h.rpc(token, 'tenants.get')).result?.id, 'acme');
  assert.equal(readFileSync(join(h.shard.services.store.dirOf('acme-copy'), 'marker.txt'), 'utf8'), 'before');

  // Over an existing tenant: refused without force, then replaced with force (the old directory kept until then).
  writeFileSync(join(dir, 'marker.txt'), 'after');
  const refused = await h.admin('POST', '/v1/tenants/restore', { from: key });
  assert.equal(refused.status, 409);
  assert.equal(errCode(refused), 'SNAPSHOT_TARGET_EXISTS');
  assert.equal(readFileSync(join(dir, 'marker.txt'), 'utf8'), 'after');
  const forced = await h.admin('POST', '/v1/tenants/restore', { from: key, force: true });
  assert.equal(forced.status, 201, forced.text);
  assert.equal(forced.body.token, undefined, 'same id: the tenant keeps its token');
  assert.equal(readFileSync(join(dir, 'marker.txt'), 'utf8'), 'before');
  assert.equal((await h.rpc(token, 'tenants.get')).result?.id, 'acme', 'the original token works after the restore');

  const del = await h.admin('DELETE', `/v1/tenants/acme/backups/${backup.body.id as string}`);
  assert.equal(del.status, 200, del.text);
  assert.equal(((await h.admin('GET', '/v1/tenants/acme/backups')).body.backups as unknown[]).length, 1);
  assert.equal((await h.admin('DELETE', `/v1/tenants/acme/backups/${backup.body.id as string}`)).status, 404);
});

void test('NDJSON progress: Accept application/x-ndjson streams progress lines and a final result', async (t) => {
  const h = await harness(t);
  await h.admin('POST', '/v1/tenants', { id: 'big' });
  writeFileSync(join(h.shard.services.store.dirOf('big'), 'blob.bin'), Buffer.alloc(4 * 1024 * 1024, 1));
  const res = await h.admin('POST', '/v1/tenants/big/backups', undefined, { accept: 'application/x-ndjson' });
  assert.equal(res.status, 200);
  const lines = res.text.trim().split('\n').map((l) => JSON.parse(l) as { event: string; phase?: string; result?: { key: string } });
  assert.ok(lines.some((l) => l.event === 'progress'));
  const last = lines[lines.length - 1];
  assert.equal(last?.event, 'done', res.text.slice(-500));
  assert.match(last?.result?.key ?? '', /^tenants\/big\//);
  const restore = await h.admin('POST', '/v1/tenants/restore', { from: last?.result?.key, as: 'big2' }, { accept: 'application/x-ndjson' });
  const final = JSON.parse(restore.text.trim().split('\n').pop() ?? '{}') as { event: string; result?: { id: string; token: string } };
  assert.equal(final.event, 'done', restore.text.slice(-500));
  assert.equal(final.result?.id, 'big2');
});

void test('refusals: no blob store, tenant token on the control plane, a hostile snapshot; the shard keeps serving', async (t) => {
  const none = await harness(t, false);
  await none.admin('POST', '/v1/tenants', { id: 'acme' });
  const r = await none.admin('POST', '/v1/tenants/acme/backups');
  assert.equal(r.status, 503);
  assert.equal(errCode(r), 'BLOB_NOT_CONFIGURED');

  const h = await harness(t);
  const created = await h.admin('POST', '/v1/tenants', { id: 'acme' });
  const asTenant = await fetch(`${h.shard.url}/v1/tenants/acme/backups`, { method: 'POST', headers: { authorization: `Bearer ${created.body.token as string}` } });
  assert.equal(asTenant.status, 403);
  assert.equal((await h.admin('POST', '/v1/tenants/nobody/backups')).status, 404);
  assert.equal(errCode(await h.admin('POST', '/v1/tenants/restore', { from: '../../etc/passwd' })), 'SNAPSHOT_NOT_FOUND');
  assert.equal((await h.admin('POST', '/v1/tenants/restore', { from: 'acme/20260101T000000000Z-00000000', as: 'Bad Id' })).status, 400);

  const blob = openBlobStore(h.blobUrl);
  t.after(() => blob.close());
  const evil = craftTar([{ path: '../../../escape', type: 'file', body: Buffer.from('x') }]);
  const key = await publishSnapshot(blob, 'evil', zstd(evil), evil.length, [], { files: [] });
  const refused = await h.admin('POST', '/v1/tenants/restore', { from: key });
  assert.equal(refused.status, 422);
  assert.equal(errCode(refused), 'SNAPSHOT_ARCHIVE_REJECTED');
  assert.equal(h.shard.services.store.get('evil'), undefined);
  assert.equal((await fetch(`${h.shard.url}/healthz`)).status, 200);
});
