// An in-process fleet for router tests: N real shards (port 0) sharing one admin key, and a manifest file (no router).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { mintAdminKey } from '../../router/identity/tenant-id.ts';
import { parseManifest, serializeManifest, type Manifest } from '../../router/manifest/manifest-schema.ts';
import type { ShardConfigInput } from '../../shard/config/shard-config.ts';
import { startTestShard, tempDir, type TestShard } from './shard-fixture.ts';

export interface TestFleet {
  adminKey: string;
  shards: TestShard[];
  dir: string;
  manifestPath: string;
  /** Writes a manifest over the shards whose ids are given (all by default) at `version`. */
  writeManifest(version: number, ids?: string[], overrides?: Manifest['overrides']): Manifest;
}

/** `config` is added to every shard's config (providers, limits); ids are s1..sN. */
export async function startTestFleet(t: TestContext, n: number, opts: { config?: Partial<ShardConfigInput> } = {}): Promise<TestFleet> {
  const adminKey = mintAdminKey();
  const shards: TestShard[] = [];
  for (let i = 1; i <= n; i++) {
    shards.push(await startTestShard(t, { adminKey, config: { logLevel: 'warn', ...opts.config, id: `s${i}` } }));
  }
  const dir = tempDir(t, 'ocmu-fleet-');
  const manifestPath = join(dir, 'manifest.json');
  const writeManifest = (version: number, ids?: string[], overrides: Manifest['overrides'] = {}): Manifest => {
    const chosen = shards.filter((s) => ids === undefined || ids.includes(s.services.config.id));
    const m = parseManifest({ version, shards: chosen.map((s) => ({ id: s.services.config.id, url: s.url, weight: 1 })), overrides });
    writeFileSync(manifestPath, serializeManifest(m));
    return m;
  };
  writeManifest(1);
  return { adminKey, shards, dir, manifestPath, writeManifest };
}
