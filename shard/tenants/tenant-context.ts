// What a tenant-scoped handler gets: the authenticated tenant, its files and databases, its audit.
import type Database from 'better-sqlite3';
import type { AuditActor, AuditInput } from '../audit/audit-record.ts';
import { deepMerge, stripAdminKeys } from '../config/tenant-config.ts';
import { resolveInside } from './tenant-paths.ts';
import type { TenantRecord } from './tenant-record.ts';

export interface TenantContext {
  readonly id: string;
  /** Absolute path of <data>/tenants/<id>. */
  readonly dir: string;
  readonly shardId: string;
  /** The caller as audit records name it (tenant token key id, or admin key id). */
  readonly actor: AuditActor;
  readonly requestId: string;
  /** A snapshot of tenant.json at request start. */
  record(): TenantRecord;
  /** The tenant's config: defaults with its overlay merged over them, admin-only keys stripped. */
  config(): Record<string, unknown>;
  /** state.db (WAL, synchronous=FULL), opened on first use, migrated; closed when the tenant leaves residency. */
  stateDb(): Database.Database;
  /** memory.db, opened on first use; closed when the tenant leaves residency. */
  memoryDb(): Database.Database;
  /** Resolves a tenant-relative path inside the tenant directory (refuses escapes and symlinks). */
  resolvePath(relPath: string): string;
  /** Appends an audit record for this tenant with this caller. */
  audit(input: Omit<AuditInput, 'tenant' | 'actor' | 'requestId'>): void;
}

/** What a TenantContext is made from (the shard's services, narrowed). */
export interface TenantContextDeps {
  readonly shardId: string;
  readonly tenantDefaults: Record<string, unknown>;
  readonly store: { require(id: string): TenantRecord; dirOf(id: string): string; readOverlay(id: string): Record<string, unknown> };
  readonly lifecycle: { stateDb(id: string): Database.Database; memoryDb(id: string): Database.Database };
  readonly audit: { append(input: AuditInput): unknown };
}

export function createTenantContext(deps: TenantContextDeps, id: string, actor: AuditActor, requestId: string): TenantContext {
  const dir = deps.store.dirOf(id);
  return {
    id,
    dir,
    shardId: deps.shardId,
    actor,
    requestId,
    record: () => deps.store.require(id),
    config: () => stripAdminKeys(deepMerge(deps.tenantDefaults, deps.store.readOverlay(id))),
    stateDb: () => deps.lifecycle.stateDb(id),
    memoryDb: () => deps.lifecycle.memoryDb(id),
    resolvePath: (rel) => resolveInside(dir, rel),
    audit: (input) => {
      deps.audit.append({ ...input, tenant: id, actor, requestId });
    },
  };
}
