// The fleet manifest (DESIGN §4): its zod schema and parser; pure, so routers on any runtime share it.
import { z } from 'zod';
import { AppError } from '../errors/app-error.ts';
import { parseWith } from '../errors/zod-error.ts';
import { SHARD_ID_PATTERN, SHARD_ID_RULE, TENANT_ID_PATTERN } from '../identity/tenant-id.ts';

export const ManifestShardSchema = z
  .object({
    id: z.string().regex(SHARD_ID_PATTERN, `shard ids match ${SHARD_ID_RULE}`),
    url: z
      .string()
      .url()
      .refine((u) => /^https?:\/\//.test(u), 'a shard url is http:// or https://')
      .transform((u) => u.replace(/\/+$/, '')),
    weight: z.number().finite().positive().max(1_000_000).default(1),
    /** Being removed: still routable (overrides may name it) but wins no tenant by placement. */
    draining: z.boolean().optional(),
  })
  .strict();

export const ManifestOverrideSchema = z
  .object({
    shard: z.string().regex(SHARD_ID_PATTERN),
    epoch: z.number().int().nonnegative(),
  })
  .strict();

export const ManifestSchema = z
  .object({
    version: z.number().int().nonnegative(),
    shards: z.array(ManifestShardSchema).max(4096),
    overrides: z.record(z.string().regex(TENANT_ID_PATTERN, 'override keys are tenant ids'), ManifestOverrideSchema).default({}),
  })
  .strict()
  .superRefine((m, ctx) => {
    const seen = new Set<string>();
    for (const [i, s] of m.shards.entries()) {
      if (seen.has(s.id)) ctx.addIssue({ code: 'custom', path: ['shards', i, 'id'], message: `duplicate shard id ${s.id}` });
      seen.add(s.id);
    }
    for (const [tenant, o] of Object.entries(m.overrides)) {
      if (!seen.has(o.shard)) {
        ctx.addIssue({ code: 'custom', path: ['overrides', tenant, 'shard'], message: `override names unknown shard ${o.shard}` });
      }
    }
  });

export type ManifestShard = z.infer<typeof ManifestShardSchema>;
export type ManifestOverride = z.infer<typeof ManifestOverrideSchema>;
export type Manifest = z.infer<typeof ManifestSchema>;
export type ManifestInput = z.input<typeof ManifestSchema>;

/** Validates an already-decoded manifest; throws MANIFEST_INVALID naming the first failing field. */
export function parseManifest(input: unknown, source = 'manifest'): Manifest {
  return deepFreeze(parseWith(ManifestSchema, input, { code: 'MANIFEST_INVALID', prefix: source, list: 'first', details: { source } }));
}

/** Decodes JSON text and validates it. */
export function parseManifestText(text: string, source = 'manifest'): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new AppError('MANIFEST_INVALID', { message: `${source}: not valid JSON`, details: { source }, cause: err });
  }
  return parseManifest(raw, source);
}

/** The canonical text written to a store: stable key order, two-space indent, trailing newline. */
export function serializeManifest(m: Manifest): string {
  const overrides: Record<string, ManifestOverride> = {};
  for (const k of Object.keys(m.overrides).sort()) overrides[k] = m.overrides[k] as ManifestOverride;
  return `${JSON.stringify({ version: m.version, shards: m.shards.map((s) => ({ id: s.id, url: s.url, weight: s.weight, ...(s.draining === true ? { draining: true } : {}) })), overrides }, null, 2)}\n`;
}

export function shardById(m: Manifest, id: string): ManifestShard | undefined {
  return m.shards.find((s) => s.id === id);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
