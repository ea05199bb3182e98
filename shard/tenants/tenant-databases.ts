// Per-tenant database handles: opened lazily, closed on freeze, delete, move and shutdown.
import type Database from 'better-sqlite3';
import { join } from 'node:path';
import { applyFeatureMigrations, type MigrationSet } from './feature-migrations.ts';
import { openTenantDb } from './sqlite-open.ts';

export type MemoryDbOpener = (path: string) => Database.Database;

export class TenantDatabases {
  private readonly handles = new Map<string, { state?: Database.Database; memory?: Database.Database }>();
  private readonly openMemory: MemoryDbOpener;
  private readonly stateMigrations: readonly MigrationSet[];
  private readonly memoryMigrations: readonly MigrationSet[];

  /** The migration sets come from the feature list (shard/app/features.ts), in its order. */
  constructor(opts: { openMemoryDb: MemoryDbOpener; stateMigrations: readonly MigrationSet[]; memoryMigrations?: readonly MigrationSet[] }) {
    this.openMemory = opts.openMemoryDb;
    this.stateMigrations = opts.stateMigrations;
    this.memoryMigrations = opts.memoryMigrations ?? [];
  }

  state(tenantId: string, dir: string): Database.Database {
    const h = this.slot(tenantId);
    h.state ??= openTenantDb(join(dir, 'state.db'), { synchronous: 'FULL', migrations: this.stateMigrations });
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
    }
    return h.memory;
  }

  /** Checkpoints (TRUNCATE) and closes the tenant's databases. */
  close(tenantId: string): void {
    const h = this.handles.get(tenantId);
    if (h === undefined) return;
    for (const db of [h.state, h.memory]) {
      if (db === undefined || !db.open) continue;
      try {
        db.pragma('wal_checkpoint(TRUNCATE)');
      } finally {
        db.close();
      }
    }
    this.handles.delete(tenantId);
  }

  closeAll(): void {
    for (const id of [...this.handles.keys()]) this.close(id);
  }

  private slot(tenantId: string): { state?: Database.Database; memory?: Database.Database } {
    let h = this.handles.get(tenantId);
    if (h === undefined) {
      h = {};
      this.handles.set(tenantId, h);
    }
    return h;
  }
}
