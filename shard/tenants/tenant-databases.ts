// Per-tenant database handles: opened on first use, checkpointed and closed when the tenant
// leaves residency (TenantLifecycle.deactivate) or the shard stops.
import type Database from 'better-sqlite3';
import { join } from 'node:path';
import { applyFeatureMigrations, type MigrationSet } from './feature-migrations.ts';
import { openTenantDb } from './sqlite-open.ts';

export type MemoryDbOpener = (path: string) => Database.Database;

export type DatabaseName = 'state' | 'memory';

/** What happened to a tenant database (for metrics and for tests that check the order of a freeze). */
export type DatabaseEvent = { tenantId: string; db: DatabaseName; event: 'open' | 'checkpoint' | 'close' };

interface Handles {
  state?: Database.Database;
  memory?: Database.Database;
}

export class TenantDatabases {
  private readonly handles = new Map<string, Handles>();
  private readonly openMemory: MemoryDbOpener;
  private readonly stateMigrations: readonly MigrationSet[];
  private readonly memoryMigrations: readonly MigrationSet[];
  private readonly onEvent: ((e: DatabaseEvent) => void) | undefined;

  /** The migration sets come from the feature list (shard/app/features.ts), in its order. */
  constructor(opts: {
    openMemoryDb: MemoryDbOpener;
    stateMigrations: readonly MigrationSet[];
    memoryMigrations?: readonly MigrationSet[];
    onEvent?: (e: DatabaseEvent) => void;
  }) {
    this.openMemory = opts.openMemoryDb;
    this.stateMigrations = opts.stateMigrations;
    this.memoryMigrations = opts.memoryMigrations ?? [];
    this.onEvent = opts.onEvent;
  }

  state(tenantId: string, dir: string): Database.Database {
    const h = this.slot(tenantId);
    if (h.state === undefined) {
      h.state = openTenantDb(join(dir, 'state.db'), { synchronous: 'FULL', migrations: this.stateMigrations });
      this.onEvent?.({ tenantId, db: 'state', event: 'open' });
    }
    return h.state;
  }

  memory(tenantId: string, dir: string): Database.Database {
    const h = this.slot(tenantId);
    if (h.memory === undefined) {
      // memory.db's own schema is the memory feature's (memory-db.ts); other features' tables follow
      const db = this.openMemory(join(dir, 'memory.db'));
      try {
        if (this.memoryMigrations.length > 0) applyFeatureMigrations(db, this.memoryMigrations);
      } catch (err) {
        db.close();
        throw err;
      }
      h.memory = db;
      this.onEvent?.({ tenantId, db: 'memory', event: 'open' });
    }
    return h.memory;
  }

  /** The tenant's memory.db if it is open now (never opens it: for hooks that stop work on it). */
  openMemoryOf(tenantId: string): Database.Database | undefined {
    return this.handles.get(tenantId)?.memory;
  }

  isOpen(tenantId: string): boolean {
    return this.handles.has(tenantId);
  }

  /** Open database connections (each holds the file, its -wal and its -shm). */
  openCount(): number {
    let n = 0;
    for (const h of this.handles.values()) n += (h.state === undefined ? 0 : 1) + (h.memory === undefined ? 0 : 1);
    return n;
  }

  /** Checkpoints (TRUNCATE) and closes the tenant's databases. */
  close(tenantId: string): void {
    const h = this.handles.get(tenantId);
    if (h === undefined) return;
    this.handles.delete(tenantId);
    for (const [name, db] of [['state', h.state], ['memory', h.memory]] as const) {
      if (db === undefined || !db.open) continue;
      try {
        db.pragma('wal_checkpoint(TRUNCATE)');
        this.onEvent?.({ tenantId, db: name, event: 'checkpoint' });
      } finally {
        db.close();
        this.onEvent?.({ tenantId, db: name, event: 'close' });
      }
    }
  }

  closeAll(): void {
    for (const id of [...this.handles.keys()]) this.close(id);
  }

  private slot(tenantId: string): Handles {
    let h = this.handles.get(tenantId);
    if (h === undefined) {
      h = {};
      this.handles.set(tenantId, h);
    }
    return h;
  }
}
