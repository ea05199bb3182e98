// Backups and restores of one shard's tenants: snapshot to the fleet's blob store, list, delete, restore (--as, --force).
import { join } from 'node:path';
import { AppError, isTenantId, type BlobStore } from '../../router/index.ts';
import type { CoreServices } from '../app/shard-feature.ts';
import type { AuditActor } from '../audit/audit-record.ts';
import { commitStaged } from './commit-staged.ts';
import { parseSnapshotKey, snapshotRef } from './snapshot-keys.ts';
import { listSnapshots, type SnapshotListItem } from './snapshot-list.ts';
import { stageRestore, type RestoreProgress } from './snapshot-restore.ts';
import { writeSnapshot, type SnapshotProgress, type SnapshotResult } from './snapshot-writer.ts';

export type BackupListItem = SnapshotListItem;

export interface RestoreRequest {
  readonly from: string;
  readonly as?: string;
  readonly force?: boolean;
}

export interface RestoreResult {
  readonly id: string;
  /** Present when the restore minted a new token (restored under a new id). */
  readonly token?: string;
  readonly restoredFrom: string;
  readonly sourceTenant: string;
  readonly epoch: number;
  readonly files: number;
  readonly replaced: boolean;
}

interface Caller {
  readonly actor: AuditActor;
  readonly requestId?: string;
}

export interface BackupHostOptions {
  /** Least time between two backups a tenant starts itself (tenants.backup); admins are not limited. */
  readonly tenantBackupIntervalMs?: number;
}

export class BackupHost {
  readonly #svc: CoreServices;
  readonly #blob: BlobStore | null;
  readonly #busy = new Set<string>();
  readonly #tenantIntervalMs: number;
  readonly #lastTenantBackup = new Map<string, number>();

  constructor(svc: CoreServices, blob: BlobStore | null, opts: BackupHostOptions = {}) {
    this.#svc = svc;
    this.#blob = blob;
    this.#tenantIntervalMs = opts.tenantBackupIntervalMs ?? 60_000;
  }

  /**
   * A backup the tenant asked for itself: at most one per interval, so a tenant cannot fill the
   * fleet's bucket. Refused with QUOTA_REQUESTS_MINUTE and the seconds to wait.
   */
  async tenantBackup(id: string, caller: Caller): Promise<SnapshotResult> {
    const now = this.#svc.now().getTime();
    const prev = this.#lastTenantBackup.get(id);
    if (prev !== undefined && now - prev < this.#tenantIntervalMs) {
      const retryAfter = Math.ceil((this.#tenantIntervalMs - (now - prev)) / 1000);
      throw new AppError('QUOTA_REQUESTS_MINUTE', {
        message: 'A tenant may start one backup per interval.',
        details: { limit: 'tenantBackupInterval', retryAfterSeconds: retryAfter },
        headers: { 'retry-after': String(retryAfter) },
      });
    }
    this.#lastTenantBackup.set(id, now);
    return this.backup(id, caller);
  }

  get blob(): BlobStore {
    if (this.#blob === null) throw new AppError('BLOB_NOT_CONFIGURED');
    return this.#blob;
  }

  async close(): Promise<void> {
    await this.#blob?.close();
  }

  #stagingRoot(): string {
    // Cleared by TenantStore.load() at start-up, and on the data directory's filesystem (renames).
    return join(this.#svc.dataDir, 'staging');
  }

  /** Refuses tenants this shard does not own (421 with the owner) before touching them. */
  #gate(id: string): void {
    const st = this.#svc.ownership.get(id);
    if (st !== undefined && st.kind === 'moved') this.#svc.ownership.refuseIfNotOwned(st);
  }

  async #exclusive<T>(id: string, fn: () => Promise<T>): Promise<T> {
    if (this.#busy.has(id)) throw new AppError('SHARD_TENANT_BUSY', { message: 'A backup or restore of this tenant is already running.' });
    this.#busy.add(id);
    try {
      return await fn();
    } finally {
      this.#busy.delete(id);
    }
  }

  async backup(id: string, caller: Caller, onProgress?: (p: SnapshotProgress) => void): Promise<SnapshotResult> {
    this.#gate(id);
    const rec = this.#svc.store.require(id);
    const blob = this.blob;
    return this.#exclusive(id, async () => {
      const res = await writeSnapshot({
        store: blob,
        tenantId: id,
        tenantDir: this.#svc.store.dirOf(id),
        epoch: rec.epoch,
        shardId: this.#svc.config.id,
        scratchDir: this.#stagingRoot(),
        now: this.#svc.now,
        ...(onProgress === undefined ? {} : { onProgress }),
      });
      this.#svc.audit.append({
        tenant: id,
        actor: caller.actor,
        action: 'tenant.backup',
        target: res.key,
        outcome: 'ok',
        ...(caller.requestId === undefined ? {} : { requestId: caller.requestId }),
        details: { key: res.key, bytes: res.bytes, sha256: res.sha256, files: res.files },
      });
      return res;
    });
  }

  /** Complete snapshots (archive and sidecar both present) of a tenant, oldest first. */
  async list(id: string): Promise<BackupListItem[]> {
    return listSnapshots(this.blob, id);
  }

  /** Deletes a snapshot by id or key: the sidecar first, so a half-deleted snapshot is never listed. */
  async remove(id: string, key: string, caller: Caller): Promise<{ id: string; key: string; deleted: true }> {
    const ref = key.includes('/') ? parseSnapshotKey(key) : snapshotRef(id, key);
    if (ref.tenantId !== id) throw new AppError('SNAPSHOT_NOT_FOUND', { details: { key: key.slice(0, 200) } });
    const blob = this.blob;
    if ((await blob.stat(ref.manifestKey)) === null && (await blob.stat(ref.archiveKey)) === null) {
      throw new AppError('SNAPSHOT_NOT_FOUND', { details: { key: ref.archiveKey } });
    }
    await blob.delete(ref.manifestKey);
    await blob.delete(ref.archiveKey);
    this.#svc.audit.append({
      tenant: id,
      actor: caller.actor,
      action: 'tenant.backup.delete',
      target: ref.archiveKey,
      outcome: 'ok',
      ...(caller.requestId === undefined ? {} : { requestId: caller.requestId }),
    });
    return { id: ref.snapshotId, key: ref.archiveKey, deleted: true };
  }

  /**
   * Restores a snapshot: stage and verify everything first, then (frozen and drained if it replaces a
   * live tenant) rename it into place and adopt it. Restoring under a new id mints a new token.
   */
  async restore(
    req: RestoreRequest,
    caller: Caller,
    onProgress?: (p: RestoreProgress) => void,
    /** Called once a live tenant is about to be replaced (the routes close its WebSockets). */
    onReplace?: (id: string) => void,
  ): Promise<RestoreResult> {
    const ref = parseSnapshotKey(req.from);
    const target = req.as ?? ref.tenantId;
    if (!isTenantId(target)) throw new AppError('SHARD_TENANT_ID_INVALID');
    const force = req.force === true;
    const svc = this.#svc;
    const exists = (): boolean => svc.store.get(target) !== undefined || svc.store.tombstone(target) !== undefined;
    if (exists() && !force) throw new AppError('SNAPSHOT_TARGET_EXISTS', { details: { id: target } });
    const blob = this.blob;
    return this.#exclusive(target, async () => {
      const staged = await stageRestore({ store: blob, key: ref.archiveKey, stagingRoot: this.#stagingRoot(), ...(onProgress === undefined ? {} : { onProgress }) });
      const live = svc.store.get(target);
      let replaced = false;
      try {
        if (live !== undefined || svc.store.tombstone(target) !== undefined) {
          if (!force) throw new AppError('SNAPSHOT_TARGET_EXISTS', { details: { id: target } });
          replaced = true;
        }
        if (live !== undefined) {
          // Stop the live tenant before its directory is swapped: no request, no open database.
          await svc.store.setState(target, 'frozen', caller.actor);
          onReplace?.(target);
          const drained = await svc.ownership.drain(target, svc.config.limits.drainTimeoutMs);
          if (!drained) {
            await svc.store.setState(target, 'owned', caller.actor);
            throw new AppError('SHARD_TENANT_BUSY', { message: 'In-flight requests did not drain in time; nothing was restored.' });
          }
          svc.databases.close(target);
        }
        try {
          await commitStaged(staged, svc.store.dirOf(target), { force });
        } catch (err) {
          if (live !== undefined) await svc.store.setState(target, 'owned', caller.actor);
          throw err;
        }
      } catch (err) {
        await staged.discard();
        throw err;
      }
      // An epoch never goes backwards on this shard: fencing of moves relies on it.
      const epoch = live === undefined ? undefined : Math.max(live.epoch, staged.manifest.epoch);
      const rec = await svc.store.adopt(target, epoch, caller.actor, 'tenant.restore.adopt');
      const token = target !== staged.manifest.tenant ? await svc.store.reissueToken(target) : undefined;
      svc.audit.append({
        tenant: target,
        actor: caller.actor,
        action: 'tenant.restore',
        target: ref.archiveKey,
        outcome: 'ok',
        ...(caller.requestId === undefined ? {} : { requestId: caller.requestId }),
        details: { from: ref.archiveKey, sourceTenant: staged.manifest.tenant, replaced, newToken: token !== undefined },
      });
      return {
        id: target,
        ...(token === undefined ? {} : { token }),
        restoredFrom: ref.archiveKey,
        sourceTenant: staged.manifest.tenant,
        epoch: rec.epoch,
        files: staged.manifest.files.length,
        replaced,
      };
    });
  }
}
