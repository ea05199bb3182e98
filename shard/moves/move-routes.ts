// The shard side of moving a tenant (DESIGN §6): snapshot a frozen tenant, import one frozen at a
// new epoch, discard an import that never committed. Freeze, thaw and moved live in control-routes.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AppError } from '../../router/errors/app-error.ts';
import { TENANT_ID_PATTERN } from '../../router/identity/tenant-id.ts';
import type { CoreServices } from '../app/shard-feature.ts';
import { adminOf } from '../http/admin-scope.ts';
import { parseBody } from '../http/control-routes.ts';
import type { BackupHost } from '../snapshot/backup-host.ts';
import { commitStaged } from '../snapshot/commit-staged.ts';
import { parseSnapshotKey } from '../snapshot/snapshot-keys.ts';
import { stageRestore } from '../snapshot/snapshot-restore.ts';
import { writeSnapshot } from '../snapshot/snapshot-writer.ts';
import { join } from 'node:path';

const ImportBody = z.object({ from: z.string().min(1).max(512), epoch: z.number().int().positive() }).strict();
const DiscardQuery = z.object({ epoch: z.coerce.number().int().positive() });

function tenantIdOf(params: unknown): string {
  const id = (params as { id?: string }).id ?? '';
  if (!TENANT_ID_PATTERN.test(id)) throw new AppError('SHARD_TENANT_ID_INVALID');
  return id;
}

/** Move routes; registered inside the admin scope. The snapshots go to the backups feature's blob store. */
export function registerMoveRoutes(app: FastifyInstance, svc: CoreServices, backups: BackupHost): void {
  const busy = new Set<string>();
  const exclusive = async <T>(id: string, fn: () => Promise<T>): Promise<T> => {
    if (busy.has(id)) throw new AppError('MOVE_CONFLICT', { details: { id } });
    busy.add(id);
    try {
      return await fn();
    } finally {
      busy.delete(id);
    }
  };

  /** Snapshot of a frozen tenant for a move: its databases are closed, so the copy is final. */
  app.post('/v1/tenants/:id/move/snapshot', async (req) => {
    const actor = adminOf(req);
    const id = tenantIdOf(req.params);
    const st = svc.ownership.get(id);
    if (st?.kind === 'moved') svc.ownership.refuseIfNotOwned(st);
    const rec = svc.store.require(id);
    if (rec.state !== 'frozen') throw new AppError('SHARD_TENANT_BUSY', { message: 'Freeze the tenant before taking its move snapshot.' });
    const blob = backups.blob;
    return exclusive(id, async () => {
      const res = await writeSnapshot({
        store: blob,
        tenantId: id,
        tenantDir: svc.store.dirOf(id),
        epoch: rec.epoch,
        shardId: svc.config.id,
        scratchDir: join(svc.dataDir, 'staging'),
        now: svc.now,
        // The tenant is frozen while this runs: favour speed over ratio (backups use level 3).
        zstdLevel: 1,
      });
      svc.audit.append({ tenant: id, actor, action: 'tenant.move.snapshot', target: res.key, outcome: 'ok', requestId: String(req.id), details: { key: res.key, bytes: res.bytes, sha256: res.sha256, epoch: rec.epoch } });
      return { id, key: res.key, bytes: res.bytes, sha256: res.sha256, epoch: rec.epoch };
    });
  });

  /**
   * Imports a move snapshot at `epoch`, FROZEN: it serves nothing until the cutover thaws it.
   * Idempotent: an import already here at the same epoch answers as if just done.
   */
  app.post('/v1/tenants/import', async (req, reply) => {
    const actor = adminOf(req);
    const body = parseBody(ImportBody, req.body);
    const ref = parseSnapshotKey(body.from);
    const id = ref.tenantId;
    const existing = svc.store.get(id);
    if (existing !== undefined) {
      if (existing.epoch === body.epoch && existing.state === 'frozen') return reply.code(200).send({ id, epoch: body.epoch, state: 'frozen', already: true });
      throw new AppError('MOVE_CONFLICT', { message: 'The tenant already lives on this shard.', details: { id, epoch: existing.epoch, state: existing.state } });
    }
    const tomb = svc.store.tombstone(id);
    if (tomb !== undefined && tomb.epoch >= body.epoch) {
      throw new AppError('MOVE_EPOCH_STALE', { details: { id, epoch: body.epoch, tombstoneEpoch: tomb.epoch } });
    }
    const blob = backups.blob;
    return exclusive(id, async () => {
      const staged = await stageRestore({ store: blob, key: ref.archiveKey, stagingRoot: join(svc.dataDir, 'staging') });
      if (staged.manifest.tenant !== id) {
        await staged.discard();
        throw new AppError('SNAPSHOT_CORRUPT', { message: 'The snapshot names another tenant.' });
      }
      await commitStaged(staged, svc.store.dirOf(id));
      const rec = await svc.store.adopt(id, body.epoch, actor, 'tenant.move.import', 'frozen');
      return reply.code(201).send({ id, epoch: rec.epoch, state: 'frozen', files: staged.manifest.files.length });
    });
  });

  /** Discards an import that never committed (rollback of a move); refuses anything else. */
  app.delete('/v1/tenants/:id/import', async (req) => {
    const actor = adminOf(req);
    const id = tenantIdOf(req.params);
    const q = parseBody(DiscardQuery, req.query);
    const rec = svc.store.get(id);
    if (rec === undefined) return { id, discarded: false };
    if (rec.state !== 'frozen' || rec.epoch !== q.epoch) {
      throw new AppError('MOVE_CONFLICT', { message: 'Only a frozen import at that epoch can be discarded.', details: { id, epoch: rec.epoch, state: rec.state } });
    }
    await svc.store.delete(id, actor, String(req.id));
    return { id, discarded: true };
  });
}
