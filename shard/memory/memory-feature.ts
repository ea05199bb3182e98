// The memory feature: the memory.* methods over each tenant's memory.db. `model:<name>` embedders go
// through the AI feature's gateway (when listed), so quota, ledger and the SSRF guard apply to them.
import { aiFeature } from '../ai/ai-feature.ts';
import { defineFeature, type ShardFeature, type FeatureServices } from '../app/shard-feature.ts';
import { createMemoryMethods } from './memory-methods.ts';
import type { MemoryDeps } from './tenant-memory.ts';

export interface MemoryServices extends FeatureServices {
  readonly deps: MemoryDeps;
}

/** The memory feature with these embedder options (tests pass fakes; the shard passes none). */
export function memoryFeature(deps: MemoryDeps = {}): ShardFeature<MemoryServices> {
  return defineFeature({
    name: 'memory',
    services(_core, d): MemoryServices {
      const ai = d.optionalServicesOf(aiFeature);
      if (deps.modelEmbed !== undefined || ai === undefined) return { deps, close: () => undefined };
      const modelEmbed: MemoryDeps['modelEmbed'] = async (t, model, input, signal) => (await ai.embed(t, model, input, undefined, t.requestId, signal)).vectors;
      return { deps: { ...deps, modelEmbed }, close: () => undefined };
    },
    rpcMethods: (s) => createMemoryMethods(s.deps),
  });
}
