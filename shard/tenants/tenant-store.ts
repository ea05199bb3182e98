// The tenants this shard holds: their records (tenant.json), ownership states and the operations
// of the control plane on them. Tombstones, overlays, token checks and the directory layout each
// live in their own module; residency (open databases) belongs to TenantLifecycle.
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../../router/errors/app-error.ts';
import { assertTenantId, mintTenantToken } from '../../router/identity/tenant-id.ts';
import { keyIdOf, sha256Hex } from '../auth/token-hash.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { AuditActor } from '../audit/audit-record.ts';
import type { Ownership } from '../ownership/ownership.ts';
import { writeFileAtomic } from './atomic-write.ts';
import { KeyedLock } from './keyed-lock.ts';
import { checkTenantToken, type TenantAuth } from './tenant-auth.ts';
import { placeNewTenantDir, prepareDataDir, readTenantRecords, setAside } from './tenant-directory.ts';
import type { InactiveReason } from './tenant-lifecycle.ts';
import { TenantOverlays } from './tenant-overlays.ts';
import { tenantDir, tenantsRoot } from './tenant-paths.ts';
import { type Quota, type QuotaPatch, type TenantRecord, TenantRecordSchema } from './tenant-record.ts';
import { type Tombstone, Tombstones } from './tombstones.ts';

export type { TenantAuth } from './tenant-auth.ts';
export type { Tombstone } from './tombstones.ts';

/** Why a tenant became owned here: found at start-up, created, or adopted from a restore or move. */
export type OwnedCause = 'load' | 'create' | 'adopt' | 'thaw';

export interface TenantStoreDeps {
  dataDir: string;
  shardId: string;
  audit: AuditLog;
  ownership: Ownership;
  /** Ends a tenant's residency (hooks stopped, databases closed) before its directory goes away. */
  residency: { deactivate(tenantId: string, reason: InactiveReason): Promise<void> };
  now?: () => Date;
  onWarning?: (msg: string, extra: Record<string, unknown>) => void;
  /** Called when a tenant stops being served here (frozen, moved, deleted): end its live connections. */
  onTenantGone?: (id: string, reason: string) => void;
  /** Called when a tenant becomes owned and servable here (it is activated later, on demand). */
  onTenantOwned?: (id: string, cause: OwnedCause) => void;
}

export class TenantStore {
  private readonly records = new Map<string, TenantRecord>();
  private readonly tombstones: Tombstones;
  private readonly overlays: TenantOverlays;
  private readonly lock = new KeyedLock();
  private readonly creating = new Set<string>();
  private readonly deps: TenantStoreDeps;
  private readonly now: () => Date;
  readonly root: string;

  constructor(deps: TenantStoreDeps) {
    this.deps = deps;
    this.now = deps.now ?? (() => new Date());
    this.root = tenantsRoot(deps.dataDir);
    this.tombstones = new Tombstones(join(deps.dataDir, 'tombstones'));
    this.overlays = new TenantOverlays((id) => this.dirOf(id));
  }

  /** Reads every tenant record and tombstone (no database is opened); interrupted operations are cleaned. */
  load(): void {
    prepareDataDir(this.deps.dataDir);
    for (const t of this.tombstones.load((file, err) => this.deps.onWarning?.('unreadable tombstone skipped', { file, err }))) {
      this.deps.ownership.set(t.id, { kind: 'moved', owner: t.owner, epoch: t.epoch });
    }
    const skipped = (dir: string, why: string, err?: unknown): void => this.deps.onWarning?.(why, err === undefined ? { dir } : { dir, err });
    for (const rec of readTenantRecords(this.root, skipped)) {
      this.records.set(rec.id, rec);
      this.tombstones.forget(rec.id);
      this.deps.ownership.set(rec.id, { kind: rec.state === 'frozen' ? 'frozen' : 'owned', epoch: rec.epoch });
      if (rec.state === 'owned') this.deps.onTenantOwned?.(rec.id, 'load');
    }
  }

  /**
   * Runs `fn` alone for this tenant: writes of one tenant (record, overlay, lifecycle) never
   * interleave, while different tenants proceed in parallel.
   */
  withLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.lock.run(id, fn);
  }

  count(): number {
    return this.records.size;
  }

  get(id: string): TenantRecord | undefined {
    return this.records.get(id);
  }

  require(id: string): TenantRecord {
    const rec = this.records.get(id);
    if (rec === undefined) throw new AppError('SHARD_TENANT_NOT_FOUND', { details: { id } });
    return rec;
  }

  tombstone(id: string): Tombstone | undefined {
    return this.tombstones.get(id);
  }

  dirOf(id: string): string {
    return tenantDir(this.deps.dataDir, id);
  }

  /** Ids in order, after `cursor` (exclusive), at most `limit`. */
  list(cursor: string | undefined, limit: number): { records: TenantRecord[]; nextCursor: string | null } {
    const ids = [...this.records.keys()].sort();
    const start = cursor === undefined ? 0 : ids.findIndex((id) => id > cursor);
    const slice = start < 0 ? [] : ids.slice(start, start + limit);
    const records = slice.map((id) => this.records.get(id) as TenantRecord);
    const last = slice[slice.length - 1];
    const nextCursor = last !== undefined && start + limit < ids.length ? last : null;
    return { records, nextCursor };
  }

  /**
   * Creates a tenant (its directory is built in staging and renamed into place). The id is
   * reserved synchronously, so of concurrent creates of one id exactly one proceeds.
   */
  async create(input: { id: string; displayName?: string; quota?: Quota }, actor: AuditActor, requestId?: string): Promise<{ record: TenantRecord; token: string }> {
    const id = assertTenantId(input.id);
    if (this.records.has(id) || this.creating.has(id) || existsSync(this.dirOf(id))) {
      throw new AppError('SHARD_TENANT_EXISTS', { details: { id } });
    }
    this.creating.add(id);
    try {
      const token = mintTenantToken(id);
      const ts = this.now().toISOString();
      const hash = sha256Hex(token);
      const tomb = this.tombstones.get(id);
      const record: TenantRecord = {
        formatVersion: 1,
        id,
        displayName: input.displayName ?? id,
        createdAt: ts,
        updatedAt: ts,
        disabled: false,
        epoch: tomb === undefined ? 1 : tomb.epoch + 1,
        state: 'owned',
        token: { hash, keyId: keyIdOf(hash, true), createdAt: ts },
        quota: input.quota ?? {},
      };
      await placeNewTenantDir(this.deps.dataDir, this.dirOf(id), record);
      if (tomb !== undefined) await this.tombstones.remove(id);
      this.records.set(id, record);
      this.deps.ownership.set(id, { kind: 'owned', epoch: record.epoch });
      this.deps.audit.append({ tenant: id, actor, action: 'tenant.create', target: id, outcome: 'ok', ...(requestId === undefined ? {} : { requestId }) });
      this.deps.onTenantOwned?.(id, 'create');
      return { record, token };
    } finally {
      this.creating.delete(id);
    }
  }

  update(
    id: string,
    patch: { displayName?: string; disabled?: boolean; quota?: QuotaPatch },
    actor: AuditActor,
    requestId?: string,
  ): Promise<TenantRecord> {
    return this.withLock(id, async () => {
      const rec = this.require(id);
      const quota: Record<string, unknown> = { ...rec.quota };
      if (patch.quota !== undefined) {
        for (const [k, v] of Object.entries(patch.quota)) {
          if (v === null) delete quota[k];
          else if (v !== undefined) quota[k] = v;
        }
      }
      const next: TenantRecord = {
        ...rec,
        displayName: patch.displayName ?? rec.displayName,
        disabled: patch.disabled ?? rec.disabled,
        quota: quota as Quota,
        updatedAt: this.now().toISOString(),
      };
      await this.writeRecord(next);
      const changed = Object.keys(patch).filter((k) => (patch as Record<string, unknown>)[k] !== undefined);
      this.deps.audit.append({
        tenant: id,
        actor,
        action: patch.quota !== undefined ? 'tenant.update.quota' : 'tenant.update',
        target: id,
        outcome: 'ok',
        details: { fields: changed, ...(patch.quota === undefined ? {} : { quota: next.quota }) },
        ...(requestId === undefined ? {} : { requestId }),
      });
      return next;
    });
  }

  /** New token works at once; the old one stops at once or after `graceSeconds`. */
  rotate(id: string, graceSeconds: number, actor: AuditActor, requestId?: string): Promise<{ record: TenantRecord; token: string }> {
    return this.withLock(id, async () => {
      const rec = this.require(id);
      const token = mintTenantToken(id);
      const now = this.now();
      const hash = sha256Hex(token);
      const next: TenantRecord = {
        ...rec,
        token: { hash, keyId: keyIdOf(hash, true), createdAt: now.toISOString() },
        updatedAt: now.toISOString(),
      };
      if (graceSeconds > 0) next.previousToken = { ...rec.token, notAfter: new Date(now.getTime() + graceSeconds * 1000).toISOString() };
      else delete next.previousToken;
      await this.writeRecord(next);
      this.deps.audit.append({
        tenant: id,
        actor,
        action: 'tenant.token.rotate',
        target: id,
        outcome: 'ok',
        details: { oldKeyId: rec.token.keyId, newKeyId: next.token.keyId, graceSeconds },
        ...(requestId === undefined ? {} : { requestId }),
      });
      return { record: next, token };
    });
  }

  /** Wipes the tenant's directory (audit records stay). */
  delete(id: string, actor: AuditActor, requestId?: string): Promise<void> {
    return this.withLock(id, async () => {
      this.require(id);
      this.deps.onTenantGone?.(id, 'tenant deleted');
      await this.deps.residency.deactivate(id, 'deleted');
      const trash = await setAside(this.dirOf(id), join(this.deps.dataDir, 'trash'), id);
      this.records.delete(id);
      this.overlays.forget(id);
      this.deps.ownership.forget(id);
      await rm(trash, { recursive: true, force: true });
      this.deps.audit.append({ tenant: id, actor, action: 'tenant.delete', target: id, outcome: 'ok', ...(requestId === undefined ? {} : { requestId }) });
    });
  }

  /**
   * Checks a presented tenant token in constant time. Unknown tenant and wrong secret both
   * return null after the same work.
   */
  authenticate(token: string): TenantAuth | null {
    return checkTenantToken(token, (id) => this.records.get(id), this.now().getTime());
  }

  // --- ownership (used by moves) -------------------------------------------------------------

  setState(id: string, state: 'owned' | 'frozen', actor: AuditActor): Promise<TenantRecord> {
    // The gate changes at once (no new request gets in while the record is written).
    const now = this.require(id);
    this.deps.ownership.set(id, { kind: state, epoch: now.epoch });
    if (state === 'frozen') this.deps.onTenantGone?.(id, 'tenant frozen for a move');
    return this.withLock(id, async () => {
      const rec = this.require(id);
      const next: TenantRecord = { ...rec, state, updatedAt: this.now().toISOString() };
      await this.writeRecord(next);
      this.deps.ownership.set(id, { kind: state, epoch: rec.epoch });
      this.deps.audit.append({ tenant: id, actor, action: state === 'frozen' ? 'tenant.freeze' : 'tenant.thaw', target: id, outcome: 'ok', details: { epoch: rec.epoch } });
      if (state === 'owned') this.deps.onTenantOwned?.(id, 'thaw');
      return next;
    });
  }

  /** Records that the tenant now lives on `owner` at `epoch`: tombstone, residency ended, data set aside. */
  markMoved(id: string, owner: string, epoch: number, actor: AuditActor): Promise<Tombstone> {
    return this.withLock(id, async () => {
      const rec = this.records.get(id);
      if (rec !== undefined && epoch <= rec.epoch) {
        throw new AppError('MOVE_EPOCH_STALE', { details: { id, epoch, current: rec.epoch } });
      }
      const tomb: Tombstone = { id, owner, epoch, movedAt: this.now().toISOString() };
      await this.tombstones.write(tomb);
      this.deps.ownership.set(id, { kind: 'moved', owner, epoch });
      this.deps.onTenantGone?.(id, 'tenant moved');
      if (rec !== undefined) {
        await this.deps.residency.deactivate(id, 'moved');
        await setAside(this.dirOf(id), join(this.deps.dataDir, 'retired'), `${id}.${rec.epoch}`);
        this.records.delete(id);
        this.overlays.forget(id);
      }
      this.deps.audit.append({ tenant: id, actor, action: 'tenant.moved', target: id, outcome: 'ok', details: { owner, epoch } });
      return tomb;
    });
  }

  /** Adopts a tenant directory already renamed into place (restore or move import). */
  adopt(id: string, epoch: number | undefined, actor: AuditActor, action: string, state: 'owned' | 'frozen' = 'owned'): Promise<TenantRecord> {
    return this.withLock(id, async () => {
      const rec = TenantRecordSchema.parse(JSON.parse(await readFile(join(this.dirOf(id), 'tenant.json'), 'utf8')));
      const next: TenantRecord = { ...rec, id, epoch: epoch ?? rec.epoch, state, updatedAt: this.now().toISOString() };
      await this.writeRecord(next);
      await this.tombstones.remove(id);
      this.overlays.forget(id);
      this.deps.ownership.set(id, { kind: state, epoch: next.epoch });
      this.deps.audit.append({ tenant: id, actor, action, target: id, outcome: 'ok', details: { epoch: next.epoch } });
      if (state === 'owned') this.deps.onTenantOwned?.(id, 'adopt');
      return next;
    });
  }

  /** Replaces the record of a tenant whose files were just restored, with a fresh token. */
  reissueToken(id: string): Promise<string> {
    return this.withLock(id, async () => {
      const rec = this.require(id);
      const token = mintTenantToken(id);
      const hash = sha256Hex(token);
      const ts = this.now().toISOString();
      const next: TenantRecord = { ...rec, token: { hash, keyId: keyIdOf(hash, true), createdAt: ts }, updatedAt: ts };
      delete next.previousToken;
      await this.writeRecord(next);
      return token;
    });
  }

  // --- overlay config -----------------------------------------------------------------------

  readOverlay(id: string): Record<string, unknown> {
    return this.overlays.read(id);
  }

  /** Read-modify-write of the overlay under the tenant's lock (no lost update between writers). */
  editOverlay(id: string, change: (current: Record<string, unknown>) => Record<string, unknown>): Promise<Record<string, unknown>> {
    return this.withLock(id, async () => {
      this.require(id);
      const next = change(this.overlays.read(id));
      await this.overlays.write(id, next);
      return next;
    });
  }

  private async writeRecord(rec: TenantRecord): Promise<void> {
    await writeFileAtomic(join(this.dirOf(rec.id), 'tenant.json'), `${JSON.stringify(rec, null, 2)}\n`);
    this.records.set(rec.id, rec);
  }
}
