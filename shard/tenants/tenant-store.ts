// The tenants this shard holds: their records on disk (atomic writes), tokens, ownership states,
// tombstones, and the lifecycle operations of the control plane.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { stringify as toYaml, parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { AppError } from '../../router/errors/app-error.ts';
import { assertTenantId, mintTenantToken, parseTenantToken } from '../../router/identity/tenant-id.ts';
import { DUMMY_DIGEST, digestEquals, keyIdOf, sha256Hex } from '../auth/token-hash.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { AuditActor } from '../audit/audit-record.ts';
import type { Ownership } from '../ownership/ownership.ts';
import { fsyncDirAsync, writeFileAtomic } from './atomic-write.ts';
import type { TenantDatabases } from './tenant-databases.ts';
import { tenantDir, tenantsRoot } from './tenant-paths.ts';
import { type Quota, type QuotaPatch, type TenantRecord, TenantRecordSchema } from './tenant-record.ts';

export const TombstoneSchema = z.object({ id: z.string(), owner: z.string(), epoch: z.number().int(), movedAt: z.string() });
export type Tombstone = z.infer<typeof TombstoneSchema>;

export interface TenantAuth {
  tenantId: string;
  keyId: string;
  /** True when the previous token (inside its grace period) was used. */
  grace: boolean;
}

export interface TenantStoreDeps {
  dataDir: string;
  shardId: string;
  audit: AuditLog;
  ownership: Ownership;
  databases: TenantDatabases;
  now?: () => Date;
  onWarning?: (msg: string, extra: Record<string, unknown>) => void;
  /**
   * Called when a tenant stops being served here (frozen, moved, deleted): ends its live connections
   * and stops its features; awaited before its databases close.
   */
  onTenantGone?: (id: string, reason: { kind: 'frozen' | 'moved' | 'deleted'; message: string }) => Promise<void> | void;
}

export class TenantStore {
  private readonly records = new Map<string, TenantRecord>();
  private readonly tombstones = new Map<string, Tombstone>();
  private readonly overlays = new Map<string, Record<string, unknown>>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly creating = new Set<string>();
  private readonly deps: TenantStoreDeps;
  private readonly now: () => Date;
  readonly root: string;

  constructor(deps: TenantStoreDeps) {
    this.deps = deps;
    this.now = deps.now ?? (() => new Date());
    this.root = tenantsRoot(deps.dataDir);
  }

  /** Reads every tenant and tombstone from disk; leftovers of interrupted operations are cleaned. */
  load(): void {
    for (const d of ['tenants', 'tombstones', 'staging', 'trash', 'retired']) mkdirSync(join(this.deps.dataDir, d), { recursive: true });
    rmSync(join(this.deps.dataDir, 'staging'), { recursive: true, force: true });
    rmSync(join(this.deps.dataDir, 'trash'), { recursive: true, force: true });
    mkdirSync(join(this.deps.dataDir, 'staging'), { recursive: true });
    mkdirSync(join(this.deps.dataDir, 'trash'), { recursive: true });
    for (const name of readdirSync(join(this.deps.dataDir, 'tombstones'))) {
      if (!name.endsWith('.json')) continue;
      try {
        const t = TombstoneSchema.parse(JSON.parse(readFileSync(join(this.deps.dataDir, 'tombstones', name), 'utf8')));
        this.tombstones.set(t.id, t);
        this.deps.ownership.set(t.id, { kind: 'moved', owner: t.owner, epoch: t.epoch });
      } catch (err) {
        this.deps.onWarning?.('unreadable tombstone skipped', { file: name, err });
      }
    }
    for (const name of readdirSync(this.root)) {
      const file = join(this.root, name, 'tenant.json');
      if (!existsSync(file)) {
        this.deps.onWarning?.('tenant directory without tenant.json skipped', { dir: name });
        continue;
      }
      try {
        const rec = TenantRecordSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
        if (rec.id !== name) throw new Error(`id ${rec.id} does not match its directory`);
        this.records.set(rec.id, rec);
        this.tombstones.delete(rec.id);
        this.deps.ownership.set(rec.id, { kind: rec.state === 'frozen' ? 'frozen' : 'owned', epoch: rec.epoch });
      } catch (err) {
        this.deps.onWarning?.('unreadable tenant.json; tenant not served', { dir: name, err });
      }
    }
  }

  /**
   * Runs `fn` alone for this tenant: writes of one tenant (record, overlay, lifecycle) never
   * interleave, while different tenants proceed in parallel.
   */
  withLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(id) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.locks.set(id, tail);
    void tail.then(() => {
      if (this.locks.get(id) === tail) this.locks.delete(id);
    });
    return run;
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
   * Creates a tenant: builds its directory in staging, then renames it into place (atomic; a crash
   * leaves either no tenant or a whole one). The id is reserved synchronously, so of concurrent
   * creates of one id exactly one proceeds.
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
      const staging = join(this.deps.dataDir, 'staging', `${id}.${randomBytes(4).toString('hex')}`);
      await mkdir(staging, { mode: 0o700 });
      for (const sub of ['channels', 'cron', 'plugins', 'sandbox']) await mkdir(join(staging, sub));
      await writeFileAtomic(join(staging, 'tenant.json'), `${JSON.stringify(record, null, 2)}\n`);
      await writeFileAtomic(join(staging, 'config.yaml'), '{}\n');
      try {
        await rename(staging, this.dirOf(id));
      } catch (err) {
        await rm(staging, { recursive: true, force: true });
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOTEMPTY' || code === 'EEXIST') throw new AppError('SHARD_TENANT_EXISTS', { details: { id } });
        throw err;
      }
      await fsyncDirAsync(this.root);
      if (tomb !== undefined) await this.removeTombstone(id);
      this.records.set(id, record);
      this.deps.ownership.set(id, { kind: 'owned', epoch: record.epoch });
      this.deps.audit.append({ tenant: id, actor, action: 'tenant.create', target: id, outcome: 'ok', ...(requestId === undefined ? {} : { requestId }) });
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
      await this.deps.onTenantGone?.(id, { kind: 'deleted', message: 'tenant deleted' });
      this.deps.databases.close(id);
      const trash = join(this.deps.dataDir, 'trash', `${id}.${randomBytes(4).toString('hex')}`);
      await rename(this.dirOf(id), trash);
      await fsyncDirAsync(this.root);
      this.records.delete(id);
      this.overlays.delete(id);
      this.deps.ownership.forget(id);
      await rm(trash, { recursive: true, force: true });
      this.deps.audit.append({ tenant: id, actor, action: 'tenant.delete', target: id, outcome: 'ok', ...(requestId === undefined ? {} : { requestId }) });
    });
  }

  /**
   * Checks a presented tenant token in constant time. Unknown tenant and wrong secret both
   * return null after the same work (a comparison against a dummy digest).
   */
  authenticate(token: string): TenantAuth | null {
    const parsed = parseTenantToken(token);
    const presented = sha256Hex(token);
    const rec = parsed === null ? undefined : this.records.get(parsed.tenantId);
    const current = rec?.token.hash ?? DUMMY_DIGEST;
    const okCurrent = digestEquals(presented, current);
    const prev = rec?.previousToken;
    const prevValid = prev !== undefined && Date.parse(prev.notAfter) > this.now().getTime();
    const okPrev = digestEquals(presented, prevValid ? prev.hash : DUMMY_DIGEST);
    if (rec === undefined || parsed === null) return null;
    if (okCurrent) return { tenantId: rec.id, keyId: rec.token.keyId, grace: false };
    if (okPrev && prev !== undefined) return { tenantId: rec.id, keyId: prev.keyId, grace: true };
    return null;
  }

  // --- ownership (used by moves) -------------------------------------------------------------

  setState(id: string, state: 'owned' | 'frozen', actor: AuditActor): Promise<TenantRecord> {
    // The gate changes at once (no new request gets in while the record is written).
    const now = this.require(id);
    this.deps.ownership.set(id, { kind: state, epoch: now.epoch });
    const stopping = state === 'frozen' ? this.deps.onTenantGone?.(id, { kind: 'frozen', message: 'tenant frozen for a move' }) : undefined;
    return this.withLock(id, async () => {
      await stopping;
      const rec = this.require(id);
      const next: TenantRecord = { ...rec, state, updatedAt: this.now().toISOString() };
      await this.writeRecord(next);
      this.deps.ownership.set(id, { kind: state, epoch: rec.epoch });
      this.deps.audit.append({ tenant: id, actor, action: state === 'frozen' ? 'tenant.freeze' : 'tenant.thaw', target: id, outcome: 'ok', details: { epoch: rec.epoch } });
      return next;
    });
  }

  /** Records that the tenant now lives on `owner` at `epoch`: tombstone, databases closed, data set aside. */
  markMoved(id: string, owner: string, epoch: number, actor: AuditActor): Promise<Tombstone> {
    return this.withLock(id, async () => {
      const rec = this.records.get(id);
      if (rec !== undefined && epoch <= rec.epoch) {
        throw new AppError('MOVE_EPOCH_STALE', { details: { id, epoch, current: rec.epoch } });
      }
      const tomb: Tombstone = { id, owner, epoch, movedAt: this.now().toISOString() };
      await writeFileAtomic(join(this.deps.dataDir, 'tombstones', `${id}.json`), `${JSON.stringify(tomb)}\n`);
      this.tombstones.set(id, tomb);
      this.deps.ownership.set(id, { kind: 'moved', owner, epoch });
      await this.deps.onTenantGone?.(id, { kind: 'moved', message: 'tenant moved' });
      if (rec !== undefined) {
        this.deps.databases.close(id);
        await rename(this.dirOf(id), join(this.deps.dataDir, 'retired', `${id}.${rec.epoch}.${randomBytes(3).toString('hex')}`));
        await fsyncDirAsync(this.root);
        this.records.delete(id);
        this.overlays.delete(id);
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
      await this.removeTombstone(id);
      this.overlays.delete(id);
      this.deps.ownership.set(id, { kind: state, epoch: next.epoch });
      this.deps.audit.append({ tenant: id, actor, action, target: id, outcome: 'ok', details: { epoch: next.epoch } });
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
    const cached = this.overlays.get(id);
    if (cached !== undefined) return cached;
    const text = readFileSync(join(this.dirOf(id), 'config.yaml'), 'utf8');
    const parsed = (parseYaml(text) ?? {}) as Record<string, unknown>;
    this.overlays.set(id, parsed);
    return parsed;
  }

  /** Read-modify-write of the overlay under the tenant's lock (no lost update between writers). */
  editOverlay(id: string, change: (current: Record<string, unknown>) => Record<string, unknown>): Promise<Record<string, unknown>> {
    return this.withLock(id, async () => {
        this.require(id);
        const next = change(this.readOverlay(id));
        await writeFileAtomic(join(this.dirOf(id), 'config.yaml'), toYaml(next));
        this.overlays.set(id, next);
        return next;
    });
  }

  private async writeRecord(rec: TenantRecord): Promise<void> {
    await writeFileAtomic(join(this.dirOf(rec.id), 'tenant.json'), `${JSON.stringify(rec, null, 2)}\n`);
    this.records.set(rec.id, rec);
  }

  private async removeTombstone(id: string): Promise<void> {
    if (!this.tombstones.has(id)) return;
    await rm(join(this.deps.dataDir, 'tombstones', `${id}.json`), { force: true });
    this.tombstones.delete(id);
  }
}
