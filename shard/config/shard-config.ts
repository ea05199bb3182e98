// The shard's configuration: CLI flags → YAML file → defaults, validated by zod, frozen.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { AppError } from '../../router/errors/app-error.ts';
import { isAdminKeyShape } from '../../router/identity/tenant-id.ts';
import { sha256Hex } from '../auth/token-hash.ts';
import { TenantOverlaySchema } from './tenant-config.ts';
import { ModelsSchema, ProvidersSchema, RateCardSchema } from '../ai/ai-config.ts';

const adminKeyHash = z.string().regex(/^[0-9a-f]{64}$/, 'an admin key hash is 64 lowercase hex (sha256 of ak_...)');

export const ShardConfigSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'shard ids match ^[a-z0-9][a-z0-9_-]{0,31}$').default('s1'),
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(18800),
    dataDir: z.string().default('.openclawmu/shard'),
    /** SHA-256 (hex) of each admin key; plaintext keys given with --admin-key are hashed at start. */
    adminKeyHashes: z.array(adminKeyHash).default([]),
    /** The fleet's blob store (file://, s3://); needed for backups, moves and epoch fencing. */
    blob: z.string().optional(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    limits: z
      .object({
        bodyLimitBytes: z.number().int().positive().default(1024 * 1024),
        rpcBatchMax: z.number().int().positive().default(100),
        wsMaxPayloadBytes: z.number().int().positive().default(1024 * 1024),
        drainTimeoutMs: z.number().int().positive().default(10_000),
        frozenRetryAfterSeconds: z.number().int().positive().default(1),
        listPageMax: z.number().int().positive().default(500),
        /** How long the data of a moved-away tenant stays in <data>/retired/ before it is deleted. */
        retiredGraceHours: z.number().positive().default(24),
      })
      .strict()
      .default({
        bodyLimitBytes: 1024 * 1024,
        rpcBatchMax: 100,
        wsMaxPayloadBytes: 1024 * 1024,
        drainTimeoutMs: 10_000,
        frozenRetryAfterSeconds: 1,
        listPageMax: 500,
        retiredGraceHours: 24,
      }),
    /** Defaults under every tenant's overlay (tenant-visible keys only). */
    tenantDefaults: TenantOverlaySchema.default({}),
    // Operator-only sections; their detailed schemas live with the features that read them.
    providers: ProvidersSchema,
    models: ModelsSchema,
    rateCard: RateCardSchema,
    /** Each feature's own section (`features.<name>`), validated by that feature's schema at start-up. */
    features: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

export type ShardConfig = Readonly<z.infer<typeof ShardConfigSchema>>;
export type ShardConfigInput = z.input<typeof ShardConfigSchema>;

/** Turns a zod error into the project's error with the failing field named. */
export function configError(err: z.ZodError, source: string): AppError {
  const issues = err.issues.map((i) => ({ field: i.path.join('.') || '(root)', problem: i.message }));
  const first = issues[0];
  return new AppError('CONFIG_INVALID', {
    message: `${source}: ${first ? `${first.field}: ${first.problem}` : 'invalid'}`,
    details: { source, issues },
  });
}

export interface ShardFlags {
  id?: string;
  host?: string;
  port?: number;
  data?: string;
  adminKey?: string[];
  config?: string;
  blob?: string;
}

/** Reads the YAML file (if any), lays the flags over it, validates, and freezes the result. */
export function loadShardConfig(flags: ShardFlags): ShardConfig {
  let fromFile: Record<string, unknown> = {};
  if (flags.config !== undefined) {
    let text: string;
    try {
      text = readFileSync(flags.config, 'utf8');
    } catch (err) {
      throw new AppError('CONFIG_INVALID', { message: `${flags.config}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, cause: err });
    }
    let parsed: unknown;
    try {
      parsed = parseYaml(text);
    } catch (err) {
      throw new AppError('CONFIG_INVALID', { message: `${flags.config}: not valid YAML: ${(err as Error).message}`, cause: err });
    }
    if (parsed !== null && parsed !== undefined) {
      if (typeof parsed !== 'object' || Array.isArray(parsed)) {
        throw new AppError('CONFIG_INVALID', { message: `${flags.config}: the top level must be a mapping` });
      }
      fromFile = parsed as Record<string, unknown>;
    }
  }
  const merged: Record<string, unknown> = { ...fromFile };
  if (flags.id !== undefined) merged['id'] = flags.id;
  if (flags.host !== undefined) merged['host'] = flags.host;
  if (flags.port !== undefined) merged['port'] = flags.port;
  if (flags.data !== undefined) merged['dataDir'] = flags.data;
  if (flags.blob !== undefined) merged['blob'] = flags.blob;
  if (flags.adminKey !== undefined && flags.adminKey.length > 0) {
    for (const k of flags.adminKey) {
      if (!isAdminKeyShape(k)) {
        throw new AppError('CONFIG_INVALID', { message: '--admin-key: admin keys look like ak_<32 lowercase hex>' });
      }
    }
    const hashes = Array.isArray(merged['adminKeyHashes']) ? (merged['adminKeyHashes'] as unknown[]) : [];
    merged['adminKeyHashes'] = [...hashes, ...flags.adminKey.map((k) => sha256Hex(k))];
  }
  return parseShardConfig(merged, flags.config ?? 'flags');
}

export function parseShardConfig(input: unknown, source = 'config'): ShardConfig {
  const res = ShardConfigSchema.safeParse(input);
  if (!res.success) throw configError(res.error, source);
  return Object.freeze(res.data);
}
