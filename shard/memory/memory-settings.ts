// A tenant's memory settings: the `memory` section of its merged config, with defaults.
import { z } from 'zod';

/** Defaults chosen on the labelled corpus (docs/memory.md has the figures). */
export const MemorySettingsSchema = z.object({
  enabled: z.boolean().default(true),
  /** `hash` | `hash:<dim>` | `<provider>/<model>` | `onnx:<name>` (see docs/memory.md). */
  embedder: z.string().max(200).default('hash'),
  vectorWeight: z.number().min(0).max(1).default(0.5),
  keywordWeight: z.number().min(0).max(1).default(0.5),
  recencyHalfLifeDays: z.number().positive().optional(),
  mmrLambda: z.number().min(0).max(1).optional(),
  minScore: z.number().min(0).max(1).default(0),
  quantization: z.enum(['none', 'int8', 'binary']).default('none'),
});

export type MemorySettings = z.infer<typeof MemorySettingsSchema>;

export const DEFAULT_MEMORY_SETTINGS: MemorySettings = Object.freeze(MemorySettingsSchema.parse({}));

/** Reads `config.memory` (already validated by the overlay schema); unknown keys are ignored. */
export function memorySettings(config: Record<string, unknown>): MemorySettings {
  const parsed = MemorySettingsSchema.safeParse(config.memory ?? {});
  return parsed.success ? parsed.data : DEFAULT_MEMORY_SETTINGS;
}
