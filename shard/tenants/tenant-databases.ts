// Per-tenant database handles: opened on first use, checkpointed and closed when the tenant
// leaves residency (TenantLifecycle.deactivate) or the shard stops.
import type Database from 'better-sqlite3';
import { join } from 'node:path';
import { openTenantDb } from './sqlite-open.ts';
import { STATE_MIGRATIONS } from './state-migrations.ts';

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
  private readonly onEvent: ((e: DatabaseEvent) => void) | undefined;

  constructor(opts: { openMemoryDb: MemoryDbOpener; onEvent?: (e: DatabaseEvent) => void }) {
    this.openMemory = opts.openMemoryDb;
    this.onEvent = opts.onEvent;
  }

  state(tenantId: string, dir: string): Database.Database {
    const h = this.slot(tenantId);
    if (h.state === undefined) {
      h.state = openTenantDb(join(dir, 'state.db'), { synchronous: 'FULL', migrations: STATE_MIGRATIONS });
      this.onEvent?.({ tenantId, db: 'state', event: 'open' });
    }
    return h.state;
  }

  memory(tenantId: string, dir: string): Database.Database {
    const h = this.slot(tenantId);
    if (h.memory === undefined) {
      h.memory = this.openMemory(join(dir, 'memory.db'));
      this.onEvent?.({ tenantId, db: 'memory', event: 'open' });
    }
    return h.memory;
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
