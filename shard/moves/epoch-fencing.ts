// Start-up fencing (DESIGN §5): a tenant whose epoch in the fleet manifest has moved on to another
// shard is tombstoned here, so a crash between cutover and handoff cannot leave two owners.
import type { Manifest } from '../../router/manifest/manifest-schema.ts';
import type { TenantRecord } from '../tenants/tenant-record.ts';

export interface FenceDecision {
  readonly tenantId: string;
  readonly owner: string;
  readonly epoch: number;
}

/** Pure: which of this shard's tenants the manifest says now live elsewhere at a newer epoch. */
export function tenantsToFence(shardId: string, tenants: readonly TenantRecord[], manifest: Manifest): FenceDecision[] {
  const out: FenceDecision[] = [];
  for (const rec of tenants) {
    const o = Object.hasOwn(manifest.overrides, rec.id) ? manifest.overrides[rec.id] : undefined;
    if (o !== undefined && o.shard !== shardId && o.epoch > rec.epoch) out.push({ tenantId: rec.id, owner: o.shard, epoch: o.epoch });
  }
  return out;
}
