// A Worker's bindings (wrangler.toml [vars] and secrets), parsed once by zod into the router's options.
import { z } from 'zod';
import { AppError } from '../errors/app-error.ts';

const SHA256_HEX = /^[0-9a-f]{64}$/;
const intFromText = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const WorkerEnvSchema = z.object({
  /** `https://…/manifest.json` (conditional GET) or `s3://bucket/prefix?endpoint=…&region=…` (SigV4 GET). */
  MANIFEST_URL: z.string().regex(/^(https?|s3):\/\//, 'MANIFEST_URL is http(s):// or s3://'),
  /** Comma-separated SHA-256 hex of the admin keys accepted on the fleet-wide routes. */
  ADMIN_KEY_HASHES: z
    .string()
    .default('')
    .transform((s) => s.split(',').map((h) => h.trim().toLowerCase()).filter((h) => h !== ''))
    .refine((hs) => hs.every((h) => SHA256_HEX.test(h)), 'ADMIN_KEY_HASHES holds SHA-256 hex digests'),
  /** Secrets for an s3:// manifest (a read-only key is enough). */
  S3_ACCESS_KEY_ID: z.string().optional(),
  S3_SECRET_ACCESS_KEY: z.string().optional(),
  /** A manifest copy older than this is re-checked (conditional read) before the next request. */
  MANIFEST_MAX_AGE_MS: intFromText(0, 600_000).default(2000),
  HOLD_LIMIT_MS: intFromText(0, 60_000).default(10_000),
  MAX_HOPS: intFromText(0, 5).default(2),
  /** Take the client address from `CF-Connecting-IP` (set by Cloudflare's edge; forgeable anywhere else). */
  TRUST_CF_CONNECTING_IP: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
});

export type WorkerEnv = z.infer<typeof WorkerEnvSchema>;

export function parseWorkerEnv(raw: unknown): WorkerEnv {
  const got = WorkerEnvSchema.safeParse(raw);
  if (!got.success) {
    const issue = got.error.issues[0];
    throw new AppError('CONFIG_INVALID', { message: `worker bindings: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}` });
  }
  const env = got.data;
  if (env.MANIFEST_URL.startsWith('s3://') && (env.S3_ACCESS_KEY_ID === undefined || env.S3_SECRET_ACCESS_KEY === undefined)) {
    throw new AppError('CONFIG_INVALID', { message: 'worker bindings: an s3:// MANIFEST_URL needs S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY' });
  }
  return env;
}
