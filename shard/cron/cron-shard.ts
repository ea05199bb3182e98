// The shard as cron sees it (ownership, the tenant gate, state.db), built from the core services.
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Ownership } from '../ownership/ownership.ts';
import type { TenantLifecycle } from '../tenants/tenant-lifecycle.ts';
import type { TenantStore } from '../tenants/tenant-store.ts';
import type { CronShard } from './cron-service.ts';

export interface CronShardDeps {
  readonly ownership: Ownership;
  readonly store: TenantStore;
  readonly lifecycle: TenantLifecycle;
}

export function cronShardOf(core: CronShardDeps): CronShard {
  return {
    state(id) {
      const st = core.ownership.get(id);
      if (st === undefined || st.kind === 'moved' || core.store.get(id) === undefined) return 'gone';
      return st.kind;
    },
    enter: (id) => core.ownership.enter(id),
    lease: (id) => core.lifecycle.lease(id),
    stateDb: (id) => core.lifecycle.stateDb(id),
    owned() {
      return core.store
        .list(undefined, Number.MAX_SAFE_INTEGER)
        .records.filter((r) => core.ownership.get(r.id)?.kind !== 'moved')
        .map((r) => ({ id: r.id, epoch: r.epoch }));
    },
    epochOf: (id) => core.store.get(id)?.epoch,
    readFireTimes(id) {
      const path = join(core.store.dirOf(id), 'state.db');
      if (!existsSync(path)) return [];
      // Read-only and closed at once: rebuilding the index does not make a tenant resident.
      const db = new Database(path, { readonly: true, fileMustExist: true });
      try {
        const has = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'cron_jobs'`).get();
        if (has === undefined) return [];
        const rows = db.prepare(`SELECT id, next_fire_at FROM cron_jobs WHERE enabled = 1 AND next_fire_at IS NOT NULL`).all() as Array<{ id: string; next_fire_at: number }>;
        return rows.map((r) => ({ id: r.id, nextFireAt: r.next_fire_at }));
      } finally {
        db.close();
      }
    },
  };
}
