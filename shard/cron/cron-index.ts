// The shard-level index of next fire times (<data>/cron-index.db): a rebuildable cache of every owned
// tenant's cron jobs, so one timer can drive them all without opening a tenant database until it is due.
import Database from 'better-sqlite3';
import { existsSync, rmSync } from 'node:fs';

/** Bumped when the layout changes: an index of another version is thrown away and rebuilt. */
const INDEX_VERSION = '1';

export interface DueEntry {
  readonly tenant: string;
  readonly job: string;
  readonly fireAt: number;
}

export class CronIndex {
  readonly #db: Database.Database;
  /** True when the file was missing, unreadable or of another version: rebuild from the tenants. */
  readonly needsRebuild: boolean;

  private constructor(db: Database.Database, needsRebuild: boolean) {
    this.#db = db;
    this.needsRebuild = needsRebuild;
  }

  static open(path: string): CronIndex {
    const existed = existsSync(path);
    try {
      return CronIndex.#openAt(path, !existed);
    } catch {
      // A cache: a damaged file is deleted and rebuilt, never repaired.
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
      return CronIndex.#openAt(path, true);
    }
  }

  static #openAt(path: string, fresh: boolean): CronIndex {
    const db = new Database(path);
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      const version = fresh ? undefined : (db.prepare(`SELECT value FROM meta WHERE key = 'version'`).get() as { value: string } | undefined)?.value;
      const stale = fresh || version !== INDEX_VERSION;
      if (stale) db.exec(`DROP TABLE IF EXISTS fire; DROP TABLE IF EXISTS indexed; DROP TABLE IF EXISTS meta;`);
      db.exec(`
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS fire (
          tenant TEXT NOT NULL, job TEXT NOT NULL, fire_at INTEGER NOT NULL, running INTEGER NOT NULL DEFAULT 0,
          PRIMARY KEY (tenant, job)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS fire_due ON fire(running, fire_at);
        CREATE TABLE IF NOT EXISTS indexed (tenant TEXT PRIMARY KEY, epoch INTEGER NOT NULL) WITHOUT ROWID;
      `);
      if (stale) db.prepare(`INSERT OR REPLACE INTO meta (key, value) VALUES ('version', ?), ('complete', '0')`).run(INDEX_VERSION);
      const complete = (db.prepare(`SELECT value FROM meta WHERE key = 'complete'`).get() as { value: string } | undefined)?.value === '1';
      return new CronIndex(db, stale || !complete);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /** Records that a full rebuild finished (a crash during one leaves the index marked incomplete). */
  markComplete(complete: boolean): void {
    this.#db.prepare(`INSERT OR REPLACE INTO meta (key, value) VALUES ('complete', ?)`).run(complete ? '1' : '0');
  }

  /** Sets (or, with null, removes) one job's next fire time. */
  put(tenant: string, job: string, fireAt: number | null): void {
    if (fireAt === null) this.#db.prepare(`DELETE FROM fire WHERE tenant = ? AND job = ?`).run(tenant, job);
    else this.#db.prepare(`INSERT INTO fire (tenant, job, fire_at) VALUES (?, ?, ?) ON CONFLICT (tenant, job) DO UPDATE SET fire_at = excluded.fire_at, running = 0`).run(tenant, job, fireAt);
  }

  /** Replaces everything known about one tenant (rebuild, adopt, restore). */
  replaceTenant(tenant: string, epoch: number, entries: ReadonlyArray<{ id: string; nextFireAt: number }>): void {
    this.#db.transaction(() => {
      this.#db.prepare(`DELETE FROM fire WHERE tenant = ?`).run(tenant);
      const ins = this.#db.prepare(`INSERT INTO fire (tenant, job, fire_at) VALUES (?, ?, ?)`);
      for (const e of entries) ins.run(tenant, e.id, e.nextFireAt);
      this.#db.prepare(`INSERT OR REPLACE INTO indexed (tenant, epoch) VALUES (?, ?)`).run(tenant, epoch);
    })();
  }

  dropTenant(tenant: string): void {
    this.#db.transaction(() => {
      this.#db.prepare(`DELETE FROM fire WHERE tenant = ?`).run(tenant);
      this.#db.prepare(`DELETE FROM indexed WHERE tenant = ?`).run(tenant);
    })();
  }

  /** Marks a job as being worked on by this process: the timer does not pick it again meanwhile. */
  setRunning(tenant: string, job: string): void {
    this.#db.prepare(`UPDATE fire SET running = 1 WHERE tenant = ? AND job = ?`).run(tenant, job);
  }

  /**
   * At start-up: jobs that were being worked on when the process stopped are due now, so their
   * tenants are opened at once and their claims marked interrupted.
   */
  recoverRunning(now: number): number {
    return this.#db.prepare(`UPDATE fire SET running = 0, fire_at = min(fire_at, ?) WHERE running = 1`).run(now).changes;
  }

  /** Due jobs not being worked on, earliest first. */
  due(now: number, limit: number): DueEntry[] {
    return (this.#db.prepare(`SELECT tenant, job, fire_at FROM fire WHERE running = 0 AND fire_at <= ? ORDER BY fire_at LIMIT ?`).all(now, limit) as Array<{ tenant: string; job: string; fire_at: number }>).map((r) => ({
      tenant: r.tenant,
      job: r.job,
      fireAt: r.fire_at,
    }));
  }

  /** The earliest fire time after `now` of a job not being worked on (what the one timer waits for). */
  nextAfter(now: number): number | null {
    const r = this.#db.prepare(`SELECT min(fire_at) AS t FROM fire WHERE running = 0 AND fire_at > ?`).get(now) as { t: number | null };
    return r.t;
  }

  /** The tenants indexed, with the epoch they were indexed at. */
  indexedTenants(): Map<string, number> {
    const rows = this.#db.prepare(`SELECT tenant, epoch FROM indexed`).all() as Array<{ tenant: string; epoch: number }>;
    return new Map(rows.map((r) => [r.tenant, r.epoch]));
  }

  isIndexed(tenant: string): boolean {
    return this.#db.prepare(`SELECT 1 FROM indexed WHERE tenant = ?`).get(tenant) !== undefined;
  }

  get(tenant: string, job: string): { fireAt: number; running: boolean } | undefined {
    const r = this.#db.prepare(`SELECT fire_at, running FROM fire WHERE tenant = ? AND job = ?`).get(tenant, job) as { fire_at: number; running: number } | undefined;
    return r === undefined ? undefined : { fireAt: r.fire_at, running: r.running === 1 };
  }

  count(): number {
    return (this.#db.prepare(`SELECT count(*) AS n FROM fire`).get() as { n: number }).n;
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }
}
