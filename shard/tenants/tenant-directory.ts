// The shard's data directory layout on disk, and how a new tenant's directory is built and placed.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { AppError } from '../../router/errors/app-error.ts';
import { fsyncDirAsync, writeFileAtomic } from './atomic-write.ts';
import { type TenantRecord, TenantRecordSchema } from './tenant-record.ts';

const SHARD_DIRS = ['tenants', 'tombstones', 'staging', 'trash', 'retired'] as const;

/** Creates the shard-level directories; empties staging/ and trash/ (leftovers of interrupted operations). */
export function prepareDataDir(dataDir: string): void {
  for (const d of SHARD_DIRS) mkdirSync(join(dataDir, d), { recursive: true });
  for (const d of ['staging', 'trash']) {
    rmSync(join(dataDir, d), { recursive: true, force: true });
    mkdirSync(join(dataDir, d), { recursive: true });
  }
}

/** Reads every tenant.json under `root` (no database is opened); unreadable ones are reported and skipped. */
export function readTenantRecords(root: string, onSkipped: (dir: string, why: string, err?: unknown) => void): TenantRecord[] {
  const out: TenantRecord[] = [];
  for (const name of readdirSync(root)) {
    const file = join(root, name, 'tenant.json');
    if (!existsSync(file)) {
      onSkipped(name, 'tenant directory without tenant.json skipped');
      continue;
    }
    try {
      const rec = TenantRecordSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
      if (rec.id !== name) throw new Error(`id ${rec.id} does not match its directory`);
      out.push(rec);
    } catch (err) {
      onSkipped(name, 'unreadable tenant.json; tenant not served', err);
    }
  }
  return out;
}

/**
 * Builds a new tenant's directory in staging, then renames it to `dest` (atomic: a crash leaves
 * either no tenant or a whole one). No database is created: they are made on first use.
 */
export async function placeNewTenantDir(dataDir: string, dest: string, record: TenantRecord): Promise<void> {
  const staging = join(dataDir, 'staging', `${record.id}.${randomBytes(4).toString('hex')}`);
  await mkdir(staging, { mode: 0o700 });
  for (const sub of ['channels', 'cron', 'plugins', 'sandbox']) await mkdir(join(staging, sub));
  await writeFileAtomic(join(staging, 'tenant.json'), `${JSON.stringify(record, null, 2)}\n`);
  await writeFileAtomic(join(staging, 'config.yaml'), '{}\n');
  try {
    await rename(staging, dest);
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') throw new AppError('SHARD_TENANT_EXISTS', { details: { id: record.id } });
    throw err;
  }
  await fsyncDirAsync(join(dest, '..'));
}

/** Moves a tenant directory aside (into trash/ or retired/) with one rename, then fsyncs its parent. */
export async function setAside(dir: string, destDir: string, name: string): Promise<string> {
  const dest = join(destDir, `${name}.${randomBytes(4).toString('hex')}`);
  await rename(dir, dest);
  await fsyncDirAsync(join(dir, '..'));
  return dest;
}
