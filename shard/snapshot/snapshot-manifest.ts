// The sidecar manifest of a snapshot: what the archive must hash to, and every file it must hold.
import { z } from 'zod';
import { AppError } from '../../router/index.ts';

export const SNAPSHOT_FORMAT = 'openclawmu-snapshot';
export const SNAPSHOT_FORMAT_VERSION = 1;

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);
const relPath = z.string().min(1).max(4096);

export const snapshotManifestSchema = z
  .object({
    format: z.literal(SNAPSHOT_FORMAT),
    version: z.number().int(),
    id: z.string().regex(/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/),
    tenant: z.string(),
    epoch: z.number().int().nonnegative(),
    createdAt: z.string(),
    shard: z.string().optional(),
    archive: z.object({
      key: z.string(),
      size: z.number().int().nonnegative(),
      sha256: sha256Hex,
      compression: z.literal('zstd'),
      /** Bytes of the uncompressed tar stream. */
      tarBytes: z.number().int().nonnegative(),
    }),
    files: z.array(z.object({ path: relPath, size: z.number().int().nonnegative(), sha256: sha256Hex })),
    directories: z.array(relPath),
    /** Files among `files` that are SQLite databases (copied with the online backup API). */
    databases: z.array(relPath),
    /** Entries of the tenant directory that are not regular files or directories, left out of the archive. */
    skipped: z.array(z.object({ path: relPath, kind: z.string() })),
  })
  .strict();

export type SnapshotManifest = z.infer<typeof snapshotManifestSchema>;

/** Parses a sidecar manifest; a newer format version is refused rather than half-understood. */
export function parseSnapshotManifest(raw: Buffer | string): SnapshotManifest {
  let json: unknown;
  try {
    json = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
  } catch (cause) {
    throw new AppError('SNAPSHOT_CORRUPT', { message: 'The snapshot manifest is not JSON.', cause });
  }
  const version = (json as { version?: unknown } | null)?.version;
  if (typeof version === 'number' && version !== SNAPSHOT_FORMAT_VERSION) {
    throw new AppError('SNAPSHOT_FORMAT_UNSUPPORTED', { details: { version, supported: [SNAPSHOT_FORMAT_VERSION] } });
  }
  const parsed = snapshotManifestSchema.safeParse(json);
  if (!parsed.success) {
    throw new AppError('SNAPSHOT_CORRUPT', {
      message: 'The snapshot manifest failed validation.',
      details: { issues: parsed.error.issues.slice(0, 5).map((i) => ({ path: i.path.join('.'), message: i.message })) },
    });
  }
  if (parsed.data.version !== SNAPSHOT_FORMAT_VERSION) {
    throw new AppError('SNAPSHOT_FORMAT_UNSUPPORTED', { details: { version: parsed.data.version, supported: [SNAPSHOT_FORMAT_VERSION] } });
  }
  return parsed.data;
}
