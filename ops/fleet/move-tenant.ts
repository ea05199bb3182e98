// Moves one tenant A → B (DESIGN §6): freeze A, snapshot, import on B (frozen), compare-and-swap the
// manifest (the single commit point), thaw B, tombstone A. Before the CAS any failure rolls back
// (A thaws); after it, only forward.
import { AppError, isAppError, toAppError } from '../../router/errors/app-error.ts';
import type { ManifestStore } from '../../router/manifest/manifest-store.ts';
import type { JournalMove, JournalWriter } from './move-journal.ts';
import type { ShardAdmin } from './shard-admin.ts';

export interface MoveContext {
  manifests: ManifestStore;
  shards: ReadonlyMap<string, ShardAdmin>;
  journal: JournalWriter;
  log: (line: string) => void;
}

function shard(ctx: MoveContext, id: string): ShardAdmin {
  const s = ctx.shards.get(id);
  if (s === undefined) throw new AppError('FLEET_SHARD_NOT_FOUND', { details: { id } });
  return s;
}

/** Has the manifest committed this move (override = target at a newer epoch than the source had)? */
async function committedEpoch(ctx: MoveContext, m: JournalMove): Promise<number | null> {
  const cur = await ctx.manifests.read();
  const o = cur?.manifest.overrides[m.tenant];
  if (o !== undefined && o.shard === m.to && (m.epoch === undefined || o.epoch > m.epoch)) return o.epoch;
  return null;
}

/** After the commit: thaw the target, tombstone the source (best effort: fencing covers a dead source). */
async function rollForward(ctx: MoveContext, m: JournalMove, epoch: number): Promise<void> {
  await shard(ctx, m.to).call('POST', `/v1/tenants/${m.tenant}/thaw`, {});
  let sourceMarked = false;
  try {
    await shard(ctx, m.from).call('POST', `/v1/tenants/${m.tenant}/moved`, { owner: m.to, epoch });
    sourceMarked = true;
  } catch (err) {
    // Already tombstoned there (a re-run) counts as marked; a dead source fences itself at start-up.
    if (isAppError(err) && err.code === 'SHARD_TENANT_MOVED') sourceMarked = true;
    else ctx.log(`  warning: ${m.tenant}: could not tombstone it on ${m.from} (${toAppError(err).message}); ${m.from} fences it when it starts`);
  }
  await ctx.journal.update(m.tenant, { state: 'done', sourceMarked, epoch: epoch - 1 });
}

/** Before the commit: discard the import on the target, thaw the source. Safe to repeat. */
async function rollBack(ctx: MoveContext, m: JournalMove, why: string): Promise<void> {
  const problems: string[] = [];
  try {
    const there = await shard(ctx, m.to).getTenant(m.tenant);
    if (there !== null && there.state === 'frozen' && (m.epoch === undefined || there.epoch > m.epoch)) {
      await shard(ctx, m.to).call('DELETE', `/v1/tenants/${m.tenant}/import?epoch=${there.epoch}`);
    }
  } catch (err) {
    problems.push(`discard on ${m.to}: ${toAppError(err).message}`);
  }
  try {
    await shard(ctx, m.from).call('POST', `/v1/tenants/${m.tenant}/thaw`, {});
  } catch (err) {
    if (!(isAppError(err) && err.code === 'SHARD_TENANT_NOT_FOUND')) problems.push(`thaw on ${m.from}: ${toAppError(err).message}`);
  }
  await ctx.journal.update(m.tenant, problems.length === 0 ? { state: 'rolled-back', error: why } : { state: 'failed', error: `${why}; rollback incomplete: ${problems.join('; ')}` });
}

/** Finishes or undoes a move a crashed run left half-done. */
export async function resumeMove(ctx: MoveContext, m: JournalMove): Promise<void> {
  const epoch = await committedEpoch(ctx, m);
  if (epoch !== null) {
    ctx.log(`  ${m.tenant}: committed before the crash; finishing ${m.from} → ${m.to}`);
    await rollForward(ctx, m, epoch);
  } else {
    ctx.log(`  ${m.tenant}: not committed; rolling back to ${m.from}`);
    await rollBack(ctx, m, 'interrupted before commit');
  }
}

/** Runs one planned move to the end; returns the time the tenant was frozen (ms). */
export async function runMove(ctx: MoveContext, m: JournalMove): Promise<number> {
  const from = shard(ctx, m.from);
  const to = shard(ctx, m.to);
  const frozenAt = Date.now();
  let committed = false;
  try {
    const f = await from.call<{ epoch: number }>('POST', `/v1/tenants/${m.tenant}/freeze`, {});
    await ctx.journal.update(m.tenant, { state: 'frozen', epoch: f.epoch });
    m.epoch = f.epoch;
    const snap = await from.call<{ key: string }>('POST', `/v1/tenants/${m.tenant}/move/snapshot`, {});
    await ctx.journal.update(m.tenant, { state: 'snapshotted', snapshotKey: snap.key });
    const next = f.epoch + 1;
    await to.call('POST', '/v1/tenants/import', { from: snap.key, epoch: next });
    await ctx.journal.update(m.tenant, { state: 'imported' });
    // The commit point: one compare-and-swap of the manifest.
    await ctx.manifests.update((cur) => {
      if (cur === null) throw new AppError('ROUTER_MANIFEST_UNAVAILABLE');
      const o = cur.overrides[m.tenant];
      if (o !== undefined && o.epoch >= next) throw new AppError('MOVE_EPOCH_STALE', { details: { tenant: m.tenant, epoch: next, manifestEpoch: o.epoch } });
      if (!cur.shards.some((s) => s.id === m.to)) throw new AppError('FLEET_SHARD_NOT_FOUND', { details: { id: m.to } });
      return { ...cur, overrides: { ...cur.overrides, [m.tenant]: { shard: m.to, epoch: next } } };
    }, { retries: 10 });
    committed = true;
    await ctx.journal.update(m.tenant, { state: 'committed' });
    await rollForward(ctx, m, next);
    const frozenMs = Date.now() - frozenAt;
    await ctx.journal.update(m.tenant, { frozenMs });
    return frozenMs;
  } catch (err) {
    const e = toAppError(err);
    if (committed) {
      // After the CAS only forward: a re-run finishes it.
      await ctx.journal.update(m.tenant, { state: 'committed', error: e.message }).catch(() => undefined);
      throw err;
    }
    // The CAS may have landed even though its answer was lost: check before undoing anything.
    const epoch = await committedEpoch(ctx, m).catch(() => null);
    if (epoch !== null) {
      await rollForward(ctx, m, epoch);
      return Date.now() - frozenAt;
    }
    await rollBack(ctx, m, `${e.code}: ${e.message}`);
    throw err;
  }
}
