// What `fleet recover-shard` leaves in the blob store: per lost shard, the tenants restored elsewhere
// and the epoch they were restored at. Rebalance keeps those tenants' overrides (their epochs are what
// fences the lost shard's copies if it ever starts again with the fleet's --blob).
import { z } from 'zod';
import { SHARD_ID_PATTERN } from '../../router/manifest/manifest-schema.ts';
import { TENANT_ID_PATTERN } from '../../router/identity/tenant-id.ts';
import type { BlobStore } from '../../router/blob/blob-store.ts';

export const FENCE_PREFIX = 'fleet/recovered/';

const FenceRecordSchema = z
  .object({
    shard: z.string().regex(SHARD_ID_PATTERN),
    recoveredAt: z.string(),
    tenants: z.record(z.string().regex(TENANT_ID_PATTERN), z.object({ owner: z.string().regex(SHARD_ID_PATTERN), epoch: z.number().int().positive() }).strict()),
  })
  .strict();

export type FenceRecord = z.infer<typeof FenceRecordSchema>;

export function fenceRecordKey(shardId: string): string {
  return `${FENCE_PREFIX}${shardId}.json`;
}

/** Written before the manifest changes, so a crash in between still leaves the record. */
export async function writeFenceRecord(blob: BlobStore, rec: FenceRecord): Promise<void> {
  await blob.put(fenceRecordKey(rec.shard), `${JSON.stringify(FenceRecordSchema.parse(rec), null, 2)}\n`, { contentType: 'application/json' });
}

/** Every tenant that some recovery restored away from a lost shard (unreadable records are skipped). */
export async function fencedTenants(blob: BlobStore): Promise<Set<string>> {
  const out = new Set<string>();
  for (const o of await blob.list(FENCE_PREFIX)) {
    const got = await blob.get(o.key);
    if (got === null) continue;
    let json: unknown;
    try {
      json = JSON.parse(got.body.toString('utf8'));
    } catch {
      continue;
    }
    const parsed = FenceRecordSchema.safeParse(json);
    if (parsed.success) for (const id of Object.keys(parsed.data.tenants)) out.add(id);
  }
  return out;
}
