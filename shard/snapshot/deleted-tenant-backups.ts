// What happens to a tenant's backups when the tenant is deleted: they leave tenants/<id>/snapshots/
// at once (so a new tenant created with the same id never lists or restores them) and are either
// deleted or kept for the operator's retention under deleted-tenants/<id>/<unguessable>/, then purged.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { BlobStore } from '../../router/index.ts';
import { snapshotsPrefix } from './snapshot-keys.ts';

export const DELETED_TENANTS_PREFIX = 'deleted-tenants/';
const MARKER = 'deleted.json';

const MarkerSchema = z.object({ tenant: z.string(), deletedAt: z.string(), purgeAfter: z.string() });

export interface RetiredBackups {
  /** Objects taken out of the tenant's snapshot prefix. */
  readonly objects: number;
  /** Where they are kept until purgeAfter; null when retention is 0 (deleted at once). */
  readonly keptUnder: string | null;
  readonly purgeAfter: string | null;
}

/**
 * Takes every object under tenants/<id>/snapshots/ out of that prefix: copied under a fresh
 * 128-bit random prefix with a marker when `retentionDays` > 0, then deleted (sidecars first, so a
 * half-moved snapshot is never listed as complete).
 */
export async function retireTenantBackups(blob: BlobStore, tenantId: string, now: Date, retentionDays: number): Promise<RetiredBackups> {
  const objects = await blob.list(snapshotsPrefix(tenantId));
  if (objects.length === 0) return { objects: 0, keptUnder: null, purgeAfter: null };
  let keptUnder: string | null = null;
  let purgeAfter: string | null = null;
  if (retentionDays > 0) {
    keptUnder = `${DELETED_TENANTS_PREFIX}${tenantId}/${randomBytes(16).toString('hex')}/`;
    purgeAfter = new Date(now.getTime() + retentionDays * 86_400_000).toISOString();
    for (const o of objects) {
      const src = await blob.getStream(o.key);
      if (src === null) continue;
      await blob.putStream(`${keptUnder}${o.key.slice(snapshotsPrefix(tenantId).length)}`, src.stream);
    }
    await blob.put(`${keptUnder}${MARKER}`, `${JSON.stringify({ tenant: tenantId, deletedAt: now.toISOString(), purgeAfter })}\n`);
  }
  const sidecarsFirst = [...objects].sort((a, b) => Number(b.key.endsWith('.json')) - Number(a.key.endsWith('.json')));
  for (const o of sidecarsFirst) await blob.delete(o.key);
  return { objects: objects.length, keptUnder, purgeAfter };
}

/** Deletes every kept set of a deleted tenant's backups whose retention has passed. Returns how many sets. */
export async function purgeExpiredDeletedBackups(blob: BlobStore, now: Date): Promise<number> {
  const all = await blob.list(DELETED_TENANTS_PREFIX);
  let purged = 0;
  for (const marker of all.filter((o) => o.key.endsWith(`/${MARKER}`))) {
    const got = await blob.get(marker.key);
    const parsed = got === null ? null : MarkerSchema.safeParse(JSON.parse(got.body.toString('utf8')));
    if (parsed === null || !parsed.success || Date.parse(parsed.data.purgeAfter) > now.getTime()) continue;
    const prefix = marker.key.slice(0, -MARKER.length);
    for (const o of all.filter((x) => x.key.startsWith(prefix) && x.key !== marker.key)) await blob.delete(o.key);
    await blob.delete(marker.key); // last: a purge cut short is finished by the next one
    purged += 1;
  }
  return purged;
}
