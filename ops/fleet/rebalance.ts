// Rebalance: resume a crashed run, plan the tenants whose owner changes, move them (N at a time)
// with a resumable journal, then tidy the manifest (agreeing overrides, drained shards).
import { randomBytes } from 'node:crypto';
import { AppError, toAppError } from '../../router/errors/app-error.ts';
import type { BlobStore } from '../../router/blob/blob-store.ts';
import type { Manifest } from '../../router/manifest/manifest-schema.ts';
import { manifestStore, type ManifestStore } from '../../router/manifest/manifest-store.ts';
import { initPlacement } from '../../router/placement/rendezvous.ts';
import { fencedTenants } from './fence-records.ts';
import { JournalWriter, TERMINAL, type Journal } from './move-journal.ts';
import { resumeMove, runMove, type MoveContext } from './move-tenant.ts';
import { dropAgreeingOverrides, planMoves, type Holdings, type PlannedMove } from './rebalance-plan.ts';
import { ShardAdmin, type ShardTenant } from './shard-admin.ts';

export interface RebalanceOptions {
  blob: BlobStore;
  adminKey: string;
  concurrency: number;
  dryRun: boolean;
  log: (line: string) => void;
  reason?: string;
}

export interface RebalanceReport {
  manifestVersion: number;
  resumed: number;
  planned: PlannedMove[];
  done: Array<PlannedMove & { frozenMs: number }>;
  failed: Array<PlannedMove & { error: string }>;
  removedShards: string[];
  droppedOverrides: number;
}

export function shardAdmins(manifest: Manifest, adminKey: string): Map<string, ShardAdmin> {
  return new Map(manifest.shards.map((s) => [s.id, new ShardAdmin(s.id, s.url, adminKey)]));
}

export async function readManifestOrFail(manifests: ManifestStore): Promise<Manifest> {
  const cur = await manifests.read();
  if (cur === null) throw new AppError('ROUTER_MANIFEST_UNAVAILABLE', { message: `no fleet manifest at ${manifests.url}` });
  return cur.manifest;
}

/** Lists every shard's tenants; a shard that does not answer stops the plan (its tenants are unknown). */
export async function holdingsOf(shards: ReadonlyMap<string, ShardAdmin>): Promise<Map<string, ShardTenant[]>> {
  const entries = await Promise.all(
    [...shards.values()].map(async (s) => {
      try {
        return [s.id, await s.listTenants()] as const;
      } catch (err) {
        throw new AppError('ROUTER_UPSTREAM_DOWN', { message: `shard ${s.id} (${s.url}) did not list its tenants: ${toAppError(err).message}`, cause: err });
      }
    }),
  );
  return new Map(entries);
}

async function pool<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(n, items.length)) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  });
  await Promise.all(workers);
}

export async function rebalance(opts: RebalanceOptions): Promise<RebalanceReport> {
  const manifests = manifestStore(opts.blob);
  const placement = await initPlacement();
  let manifest = await readManifestOrFail(manifests);
  const shards = shardAdmins(manifest, opts.adminKey);
  const report: RebalanceReport = { manifestVersion: manifest.version, resumed: 0, planned: [], done: [], failed: [], removedShards: [], droppedOverrides: 0 };

  // 1. A previous run that did not finish: every half-done move is finished or undone first.
  const previous = await JournalWriter.read(opts.blob);
  if (previous !== null && !previous.journal.finished) {
    if (opts.dryRun) {
      opts.log(`an unfinished rebalance (${previous.journal.id}) would be resumed first: ${previous.journal.moves.filter((m) => !TERMINAL.has(m.state)).length} move(s) in flight`);
    } else {
      opts.log(`resuming unfinished rebalance ${previous.journal.id}`);
      const w = JournalWriter.resume(opts.blob, previous.journal, previous.etag);
      const ctx: MoveContext = { manifests, shards, journal: w, log: opts.log };
      for (const m of w.journal.moves) {
        if (TERMINAL.has(m.state) || m.state === 'planned') continue;
        await resumeMove(ctx, m);
        report.resumed++;
      }
      // Planned-but-unstarted moves may have frozen their source just before a crash: thaw is idempotent.
      for (const m of w.journal.moves.filter((x) => x.state === 'planned')) {
        await shards.get(m.from)?.call('POST', `/v1/tenants/${m.tenant}/thaw`, {}).catch(() => undefined);
        await w.update(m.tenant, { state: 'rolled-back', error: 'not started before the crash' });
      }
      await w.finish();
    }
  }

  // 2. Plan from what the shards actually hold.
  manifest = await readManifestOrFail(manifests);
  const holdings = await holdingsOf(shards);
  const planned = planMoves(manifest, holdings as Holdings, placement);
  report.planned = planned;
  if (opts.dryRun) return report;

  const now = new Date().toISOString();
  const journal: Journal = {
    id: `${now.replace(/[-:.]/g, '')}-${randomBytes(3).toString('hex')}`,
    createdAt: now,
    reason: opts.reason ?? 'rebalance',
    finished: false,
    moves: planned.map((p) => ({ ...p, state: 'planned' as const, sourceMarked: false, updatedAt: now })),
  };
  const prevEtag = (await JournalWriter.read(opts.blob))?.etag ?? null;
  const writer = await JournalWriter.start(opts.blob, journal, prevEtag);
  const ctx: MoveContext = { manifests, shards, journal: writer, log: opts.log };

  // 3. Move, N at a time, with a progress line per tenant.
  let finished = 0;
  await pool(writer.journal.moves, opts.concurrency, async (m) => {
    try {
      const frozenMs = await runMove(ctx, m);
      report.done.push({ tenant: m.tenant, from: m.from, to: m.to, frozenMs });
      opts.log(`[${++finished}/${planned.length}] ${m.tenant}: ${m.from} → ${m.to} done (frozen ${frozenMs} ms)`);
    } catch (err) {
      const e = toAppError(err);
      report.failed.push({ tenant: m.tenant, from: m.from, to: m.to, error: `${e.code}: ${e.message}` });
      opts.log(`[${++finished}/${planned.length}] ${m.tenant}: ${m.from} → ${m.to} FAILED (${e.code}: ${e.message}); ${m.state === 'committed' ? 're-run to finish it' : 'rolled back'}`);
    }
  });

  // 4. Tidy (a manifest write only if something changes: nothing to move leaves the version alone):
  //    drop overrides that agree with placement (unless the source never acknowledged the
  //    move, so its start-up fencing still needs the epoch), and drop drained shards.
  //    Tenants restored away from a lost shard keep theirs for good: that epoch fences the lost shard.
  const keep = new Set([...writer.journal.moves.filter((m) => m.state === 'done' && !m.sourceMarked).map((m) => m.tenant), ...(await fencedTenants(opts.blob))]);
  // A shard that does not answer now is simply not known to be empty (it stays in the manifest).
  const empty = new Set<string>();
  await Promise.all(
    [...shards.values()].map(async (s) => {
      const held = await s.listTenants().catch(() => null);
      if (held !== null && held.length === 0) empty.add(s.id);
    }),
  );
  const tidied = await manifests.update((cur) => {
    if (cur === null) throw new AppError('ROUTER_MANIFEST_UNAVAILABLE');
    const dropped = dropAgreeingOverrides(cur, placement, keep);
    const removable = cur.shards.filter((s) => s.draining === true && empty.has(s.id) && !Object.values(dropped.overrides ?? {}).some((o) => o.shard === s.id));
    report.removedShards = removable.map((s) => s.id);
    report.droppedOverrides = Object.keys(cur.overrides).length - Object.keys(dropped.overrides ?? {}).length;
    return { ...dropped, shards: (dropped.shards ?? []).filter((s) => !removable.some((r) => r.id === s.id)) };
  });
  report.manifestVersion = tidied.manifest.version;
  await writer.finish();
  return report;
}
