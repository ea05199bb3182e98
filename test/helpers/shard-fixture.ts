// Starts a real shard on port 0 in a temp data dir for a test, and closes it when the test ends.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { TestContext } from 'node:test';
import { mintAdminKey } from '../../router/identity/tenant-id.ts';
import { parseShardConfig, type ShardConfigInput } from '../../shard/config/shard-config.ts';
import { startShard, type RunningShard } from '../../shard/app/start-shard.ts';
import type { ShardFeature } from '../../shard/app/shard-feature.ts';
import { createLogger } from '../../shard/observability/logger.ts';
import { sha256Hex } from '../../shard/auth/token-hash.ts';

export interface TestShard extends RunningShard {
  adminKey: string;
  dataDir: string;
  /** Every log line the shard wrote (to check that no secret is logged). */
  logs: string[];
  admin(path: string, init?: { method?: string; body?: unknown }): Promise<Response>;
  rpc(token: string, body: unknown): Promise<Response>;
}

export function tempDir(t: TestContext, prefix = 'ocmu-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export async function startTestShard(
  t: TestContext,
  opts: { dataDir?: string; adminKey?: string; config?: Partial<ShardConfigInput>; keepData?: boolean; features?: readonly ShardFeature[] } = {},
): Promise<TestShard> {
  const dataDir = opts.dataDir ?? tempDir(t);
  const adminKey = opts.adminKey ?? mintAdminKey();
  const config = parseShardConfig({
    id: 's1',
    port: 0,
    dataDir,
    logLevel: 'info',
    ...opts.config,
    adminKeyHashes: [sha256Hex(adminKey)],
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(chunk.toString('utf8'));
      cb();
    },
  });
  const log = createLogger({ level: 'info', destination: sink });
  const shard = await startShard(config, { log, ...(opts.features === undefined ? {} : { features: opts.features }) });
  t.after(() => shard.close());
  const admin = (path: string, init: { method?: string; body?: unknown } = {}): Promise<Response> =>
    fetch(`${shard.url}${path}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: { authorization: `Bearer ${adminKey}`, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
  const rpc = (token: string, body: unknown): Promise<Response> =>
    fetch(`${shard.url}/rpc`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  return Object.assign(shard, { adminKey, dataDir, logs, admin, rpc });
}

export async function createTenant(shard: TestShard, id: string, extra: Record<string, unknown> = {}): Promise<{ id: string; token: string }> {
  const res = await shard.admin('/v1/tenants', { body: { id, ...extra } });
  if (res.status !== 201) throw new Error(`create ${id}: ${res.status} ${await res.text()}`);
  return (await res.json()) as { id: string; token: string };
}

export async function rpcCall(shard: TestShard, token: string, method: string, params?: unknown): Promise<{ result?: unknown; error?: { code: number; message: string; data?: { code: string } } }> {
  const res = await shard.rpc(token, { jsonrpc: '2.0', id: 1, method, ...(params === undefined ? {} : { params }) });
  return (await res.json()) as { result?: unknown; error?: { code: number; message: string; data?: { code: string } } };
}
