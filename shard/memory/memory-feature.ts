// The memory feature: the memory.* methods over each tenant's memory.db. `model:<name>` embedders go
// through the AI feature's gateway (when listed), so quota, ledger and the SSRF guard apply to them.
import { aiFeature } from '../ai/ai-feature.ts';
import { defineFeature, type ShardFeature, type FeatureServices } from '../app/shard-feature.ts';
import type { TenantDatabases } from '../tenants/tenant-databases.ts';
import { runningBuild, stopBuild } from './memory-indexer.ts';
import { createMemoryMethods } from './memory-methods.ts';
import type { MemoryDeps } from './tenant-memory.ts';

export interface MemoryServices extends FeatureServices {
  readonly deps: MemoryDeps;
  readonly databases: TenantDatabases;
}

/** The memory feature with these embedder options (tests pass fakes; the shard passes none). */
export function memoryFeature(deps: MemoryDeps = {}): ShardFeature<MemoryServices> {
  return defineFeature({
    name: 'memory',
    services(core, d): MemoryServices {
      const ai = d.optionalServicesOf(aiFeature);
      if (deps.modelEmbed !== undefined || ai === undefined) return { deps, databases: core.databases, close: () => undefined };
      const modelEmbed: MemoryDeps['modelEmbed'] = async (t, model, input, signal) => (await ai.ai.embed(t, model, input, undefined, t.requestId, signal)).vectors;
      return { deps: { ...deps, modelEmbed }, databases: core.databases, close: () => undefined };
    },
    rpcMethods: (s) => createMemoryMethods(s.deps),
    // A background index build keeps its tenant resident; a freeze, move, delete or shutdown stops
    // it between batches (what it wrote stays valid; the next search resumes it).
    pinsResidency(tenant, s) {
      const db = s.databases.openMemoryOf(tenant.id);
      return db !== undefined && runningBuild(db) !== undefined;
    },
    async onInactive(tenant, _reason, s) {
      const db = s.databases.openMemoryOf(tenant.id);
      if (db !== undefined) await stopBuild(db);
    },
  });
}
