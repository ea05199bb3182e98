// Every JSON-RPC method the features register, for docs/rpc-methods.md: the features' services are
// built for real (in a throw-away data directory) so the doc lists exactly what a shard serves.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseShardConfig } from '../config/shard-config.ts';
import { createLogger } from '../observability/logger.ts';
import type { RpcMethod } from '../rpc/rpc-method.ts';
import { defaultFeatures } from './features.ts';
import type { ShardFeature } from './shard-feature.ts';
import { createShardServices } from './shard-services.ts';

export async function rpcMethodsForDocs(features: readonly ShardFeature[] = defaultFeatures): Promise<RpcMethod[]> {
  const dir = mkdtempSync(join(tmpdir(), 'ocmu-docs-'));
  try {
    const svc = createShardServices(parseShardConfig({ dataDir: dir, logLevel: 'silent' }), { log: createLogger({ level: 'silent' }), features });
    try {
      return [...svc.rpcMethods.values()];
    } finally {
      await svc.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
