// The on-disk format of a shard's data directory and of each tenant directory in it: checked at
// start-up, migrated forward one step at a time, and refused when newer than this version knows.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { AppError } from '../../router/errors/app-error.ts';
import { fsyncDir } from './atomic-write.ts';

/**
 * The data directory's format, recorded in `<data>/format.json`.
 * 1: written before formats were recorded (no format.json; test/fixtures/data-format-1).
 * 2: format.json present. The layout of DESIGN §3 is otherwise unchanged.
 */
export const DATA_FORMAT = 2;
/** A tenant directory's format: `formatVersion` in its tenant.json (1 since the first release). */
export const TENANT_FORMAT = 1;

const FormatFile = z.object({ dataFormat: z.number().int().positive() }).passthrough();
const TenantFormat = z.object({ formatVersion: z.number().int().positive() }).passthrough();

/** Step n → n+1 of the data directory. Append only; a step must be safe to run again after a crash. */
const DATA_STEPS: Record<number, (dataDir: string) => void> = {
  // 1 → 2: nothing moves; recording the format is the whole step.
  1: () => {},
};

/** Step n → n+1 of one tenant directory (none yet: tenant format 1 is current). */
const TENANT_STEPS: Record<number, (tenantDir: string) => void> = {};

export interface FormatReport {
  /** The format found (1 for a directory from before formats were recorded; DATA_FORMAT when new). */
  readonly found: number;
  /** The tenants whose directories were migrated. */
  readonly tenantsMigrated: readonly string[];
}

function newer(path: string, found: number, supported: number): AppError {
  return new AppError('SHARD_DATA_FORMAT_NEWER', {
    message: `${path} has format ${found}; this openclawmu knows formats up to ${supported}. Run the newer version (docs/upgrading.md)`,
    details: { path, found, supported },
  });
}

function writeJsonDurably(path: string, value: unknown): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  const fd = openSync(tmp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  fsyncDir(join(path, '..'));
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new AppError('SHARD_STATE_CORRUPT', { message: `${path}: not readable JSON`, cause: err });
  }
}

function dataFormatOf(dataDir: string): number {
  const path = join(dataDir, 'format.json');
  if (existsSync(path)) {
    const parsed = FormatFile.safeParse(readJson(path));
    if (!parsed.success) throw new AppError('SHARD_STATE_CORRUPT', { message: `${path}: no dataFormat` });
    return parsed.data.dataFormat;
  }
  // No format.json: a directory from before formats were recorded, or a new (empty) one.
  const used = ['tenants', 'audit.log', 'tombstones'].some((n) => existsSync(join(dataDir, n)));
  return used ? 1 : DATA_FORMAT;
}

/**
 * Checks every format in `dataDir` before anything opens it, and migrates older ones forward. Throws
 * SHARD_DATA_FORMAT_NEWER (nothing changed) when the directory or a tenant in it is newer than this
 * version knows, so a downgrade never reads data it does not understand.
 */
export function prepareDataDir(dataDir: string, onMigrated: (report: FormatReport) => void = () => {}): FormatReport {
  const found = dataFormatOf(dataDir);
  if (found > DATA_FORMAT) throw newer(join(dataDir, 'format.json'), found, DATA_FORMAT);
  const root = join(dataDir, 'tenants');
  const tenants = existsSync(root) ? readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name) : [];
  // Refuse before changing anything: every tenant's format is checked first.
  const formats = new Map<string, number>();
  for (const id of tenants) {
    const path = join(root, id, 'tenant.json');
    if (!existsSync(path)) continue; // not a tenant directory; the store reports it
    const parsed = TenantFormat.safeParse(readJson(path));
    if (!parsed.success) throw new AppError('SHARD_STATE_CORRUPT', { message: `${path}: no formatVersion` });
    if (parsed.data.formatVersion > TENANT_FORMAT) throw newer(path, parsed.data.formatVersion, TENANT_FORMAT);
    formats.set(id, parsed.data.formatVersion);
  }
  const migrated: string[] = [];
  for (const [id, from] of formats) {
    if (from === TENANT_FORMAT) continue;
    for (let v = from; v < TENANT_FORMAT; v++) TENANT_STEPS[v]?.(join(root, id));
    const path = join(root, id, 'tenant.json');
    writeJsonDurably(path, { ...(readJson(path) as object), formatVersion: TENANT_FORMAT });
    migrated.push(id);
  }
  for (let v = found; v < DATA_FORMAT; v++) {
    DATA_STEPS[v]?.(dataDir);
    writeJsonDurably(join(dataDir, 'format.json'), { dataFormat: v + 1 });
  }
  if (!existsSync(join(dataDir, 'format.json'))) writeJsonDurably(join(dataDir, 'format.json'), { dataFormat: DATA_FORMAT });
  const report = { found, tenantsMigrated: migrated };
  if (found < DATA_FORMAT || migrated.length > 0) onMigrated(report);
  return report;
}
