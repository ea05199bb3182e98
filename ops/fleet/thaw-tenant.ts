// `tenants thaw <id>`: end a freeze that nothing will end (a move stopped after its freeze and no
// rebalance will be re-run), only where that cannot make a second owner: on the shard the manifest
// names, and never while the move journal has this tenant's move in flight.
import { AppError } from '../../router/errors/app-error.ts';
import type { BlobStore } from '../../router/blob/blob-store.ts';
import { shardById } from '../../router/manifest/manifest-schema.ts';
import { manifestStore } from '../../router/manifest/manifest-store.ts';
import { initPlacement } from '../../router/placement/rendezvous.ts';
import { JournalWriter, TERMINAL } from './move-journal.ts';
import { readManifestOrFail } from './rebalance.ts';
import { ShardAdmin } from './shard-admin.ts';

export interface ThawResult {
  readonly tenant: string;
  readonly shard: string;
  /** 'thawed', or 'not-frozen' when it was already serving (nothing done). */
  readonly outcome: 'thawed' | 'not-frozen';
}

export async function thawTenant(blob: BlobStore, adminKey: string, tenant: string): Promise<ThawResult> {
  const manifest = await readManifestOrFail(manifestStore(blob));
  const journal = await JournalWriter.read(blob);
  const inFlight = journal?.journal.finished === false ? journal.journal.moves.find((m) => m.tenant === tenant && !TERMINAL.has(m.state)) : undefined;
  if (inFlight !== undefined) {
    throw new AppError('TENANT_THAW_REFUSED', { message: `a rebalance left this tenant's move ${inFlight.from} → ${inFlight.to} at '${inFlight.state}': run \`openclawmu fleet rebalance\`, which finishes or undoes it`, details: { tenant, state: inFlight.state } });
  }
  const ownerId = (await initPlacement()).ownerOf(tenant, manifest);
  const owner = ownerId === null ? undefined : shardById(manifest, ownerId);
  if (owner === undefined) throw new AppError('ROUTER_NO_OWNER', { details: { tenant } });
  const admin = new ShardAdmin(owner.id, owner.url, adminKey, 30_000);
  const here = await admin.getTenant(tenant);
  if (here === null) {
    // Frozen somewhere else while the manifest names this shard: that copy is a move's source or an
    // import that never committed; thawing it would serve stale or second-owner data.
    throw new AppError('TENANT_THAW_REFUSED', { message: `the manifest names ${owner.id}, which does not hold ${tenant}: run \`openclawmu fleet rebalance\``, details: { tenant, owner: owner.id } });
  }
  if (here.state !== 'frozen') return { tenant, shard: owner.id, outcome: 'not-frozen' };
  await admin.call('POST', `/v1/tenants/${tenant}/thaw`, {});
  return { tenant, shard: owner.id, outcome: 'thawed' };
}
