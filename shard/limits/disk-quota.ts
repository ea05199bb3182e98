// The `diskBytes` quota: a write is refused (QUOTA_DISK) before anything is written when the
// tenant's files plus what the write brings would pass it. Accounting is cheap: one readdir of the
// tenant root and a stat per top-level file (databases with their WAL, tenant.json, config.yaml),
// never a walk of the tree per write.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../../router/errors/app-error.ts';

/** Bytes of the regular files directly under the tenant root (state.db, memory.db, -wal, -shm, ...). */
export function tenantDiskBytes(dir: string): number {
  let total = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    try {
      const st = statSync(join(dir, name));
      if (st.isFile()) total += st.size;
    } catch {
      // removed meanwhile (a WAL checkpointed away): nothing to count
    }
  }
  return total;
}

/** Pure: refuses when `used + incoming` passes `max` (no quota: always room). */
export function checkDiskRoom(max: number | undefined, used: number, incoming: number): AppError | null {
  if (max === undefined || used + incoming <= max) return null;
  return new AppError('QUOTA_DISK', {
    message: `This write needs about ${incoming} bytes; the tenant uses ${used} of its ${max}-byte disk quota. Delete data or ask for a larger quota.`,
    details: { limit: 'diskBytes', max, used, incoming },
  });
}

export function assertDiskRoom(tenant: { dir: string; record(): { quota: { diskBytes?: number | undefined } } }, incoming: number): void {
  const max = tenant.record().quota.diskBytes;
  if (max === undefined) return;
  const err = checkDiskRoom(max, tenantDiskBytes(tenant.dir), incoming);
  if (err !== null) throw err;
}
