// Per-tenant database handles: opened lazily, closed on freeze, delete, move and shutdown.
import type Database from 'better-sqlite3';
import { join } from 'node:path';
import { openTenantDb } from './sqlite-open.ts';
import { STATE_MIGRATIONS } from './state-migrations.ts';

export type MemoryDbOpener = (path: string) => Database.Database;

export class TenantDatabases {
  private readonly handles = new Map<string, { state?: Database.Database; memory?: Database.Database }>();
  private readonly openMemory: MemoryDbOpener;

  constructor(opts: { openMemoryDb: MemoryDbOpener }) {
    this.openMemory = opts.openMemoryDb;
  }

  state(tenantId: string, dir: string): Database.Database {
    const h = this.slot(tenantId);
    h.state ??= openTenantDb(join(dir, 'state.db'), { synchronous: 'FULL', migrations: STATE_MIGRATIONS });
    return h.state;
  }

  memory(tenantId: string, dir: string): Database.Database {
    const h = this.slot(tenantId);
    h.memory ??= this.openMemory(join(dir, 'memory.db'));
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
