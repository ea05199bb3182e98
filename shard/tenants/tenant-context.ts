// What a tenant-scoped handler gets: the authenticated tenant, its files and databases, its audit.
import type Database from 'better-sqlite3';
import type { AuditActor, AuditInput } from '../audit/audit-record.ts';
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
  /** state.db (WAL, synchronous=FULL), opened on first use, migrated; closed by the shard. */
  stateDb(): Database.Database;
  /** memory.db, opened on first use; closed by the shard. */
  memoryDb(): Database.Database;
  /** Resolves a tenant-relative path inside the tenant directory (refuses escapes and symlinks). */
  resolvePath(relPath: string): string;
  /** Appends an audit record for this tenant with this caller. */
  audit(input: Omit<AuditInput, 'tenant' | 'actor' | 'requestId'>): void;
}
