// A whole fleet in one test: shards (in-process) on a file blob store, a manifest, a router.
import type { TestContext } from 'node:test';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { mintAdminKey } from '../../router/identity/tenant-id.ts';
import { openBlobStore } from '../../router/blob/open-blob-store.ts';
import { manifestStore } from '../../router/manifest/manifest-store.ts';
import { startRouter, type RunningRouter } from '../../router/node/start-router.ts';
import { parseRouterConfig } from '../../router/node/router-config.ts';
import { createRouterLogger } from '../../router/node/start-router.ts';
import { sha256Hex } from '../../shard/auth/token-hash.ts';
import { startTestShard, tempDir, type TestShard } from './shard-fixture.ts';
import type { BlobStore } from '../../router/blob/blob-store.ts';
import type { ShardConfigInput } from '../../shard/config/shard-config.ts';

export interface TestFleet {
  dir: string;
  blobUrl: string;
  blob: BlobStore;
  adminKey: string;
  shards: Map<string, TestShard>;
  router: RunningRouter;
  addShard(id: string): Promise<TestShard>;
  /** Through the router with the admin key. */
  admin(path: string, init?: { method?: string; body?: unknown }): Promise<Response>;
  rpc(token: string, body: unknown): Promise<Response>;
}

export async function startTestFleet(t: TestContext, opts: { shards: number; pollIntervalMs?: number; shardConfig?: Partial<ShardConfigInput> }): Promise<TestFleet> {
  const dir = tempDir(t, 'ocmu-fleet-');
  const blobDir = join(dir, 'blobs');
  mkdirSync(blobDir, { recursive: true });
  const blobUrl = `file://${blobDir}`;
  const blob = openBlobStore(blobUrl);
  t.after(() => blob.close());
  const adminKey = mintAdminKey();
  const shards = new Map<string, TestShard>();
  const addShard = async (id: string): Promise<TestShard> => {
    const s = await startTestShard(t, { dataDir: join(dir, id), adminKey, config: { ...opts.shardConfig, id, blob: blobUrl, logLevel: 'warn' } });
    shards.set(id, s);
    return s;
  };
  for (let i = 1; i <= opts.shards; i++) await addShard(`s${i}`);
  await manifestStore(blob).write({ version: 1, shards: [...shards.values()].map((s) => ({ id: s.services.config.id, url: s.url, weight: 1 })), overrides: {} }, null);
  const router = await startRouter(
    parseRouterConfig({
      port: 0,
      manifest: blobUrl,
      pollIntervalMs: opts.pollIntervalMs ?? 200,
      adminKeyHashes: [sha256Hex(adminKey)],
      logLevel: 'warn',
      // Everything (router, shards, clients) shares one process on a shared 2-core machine here; a
      // generous hold keeps the tests about correctness, not about this machine's fsync latency.
      limits: { holdLimitMs: 30_000 },
    }),
    { log: createRouterLogger('warn', { write: () => undefined }) },
  );
  t.after(() => router.close());
  const admin = (path: string, init: { method?: string; body?: unknown } = {}): Promise<Response> =>
    fetch(`${router.url}${path}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: { authorization: `Bearer ${adminKey}`, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
  const rpc = (token: string, body: unknown): Promise<Response> =>
    fetch(`${router.url}/rpc`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { dir, blobUrl, blob, adminKey, shards, router, addShard, admin, rpc };
}
