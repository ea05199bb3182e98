// Opens a tenant SQLite database with the project's pragmas and applies forward-only migrations.
import Database from 'better-sqlite3';
import { AppError } from '../../router/errors/app-error.ts';
import { applyFeatureMigrations, type MigrationSet } from './feature-migrations.ts';
import type { Migration } from './state-migrations.ts';

export interface OpenOptions {
  /** 'FULL' for anything acknowledged to a client (ledger, sessions); see docs/configuration.md. */
  synchronous: 'FULL' | 'NORMAL';
  /** Each feature's migrations for this database, applied in order (versioned per feature). */
  migrations: readonly MigrationSet[];
}

/** Page cache per connection, in KiB (SQLite's default is 2,000): a shard keeps many tenants resident. */
export const TENANT_DB_CACHE_KIB = 256;
/** The -wal file is cut back to this after a checkpoint instead of keeping its largest size. */
export const TENANT_DB_WAL_LIMIT_BYTES = 1024 * 1024;

/**
 * Page size of a new tenant database (SQLite's default is 4,096). Every table and index takes at
 * least one page, and a tenant's schema has dozens (FTS5 and vec0 shadow tables included), so an
 * empty tenant costs a third less; rows up to ~2 KB (a 384-float vector) still fit in one page.
 * It applies only to a file being created; existing files keep theirs.
 */
export const TENANT_DB_PAGE_SIZE = 2048;

/** The pragmas every tenant connection gets: WAL, the given durability, a small cache, no kept WAL growth. */
export function applyTenantPragmas(db: Database.Database, synchronous: 'FULL' | 'NORMAL'): void {
  // Before WAL: a WAL database cannot change its page size.
  db.pragma(`page_size = ${TENANT_DB_PAGE_SIZE}`);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous}`);
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  db.pragma(`cache_size = -${TENANT_DB_CACHE_KIB}`);
  db.pragma(`journal_size_limit = ${TENANT_DB_WAL_LIMIT_BYTES}`);
}

export function openTenantDb(path: string, opts: OpenOptions): Database.Database {
  const db = new Database(path);
  try {
    applyTenantPragmas(db, opts.synchronous);
    applyFeatureMigrations(db, opts.migrations);
  } catch (err) {
    db.close();
    if (err instanceof AppError) throw err;
    throw new AppError('SHARD_STATE_CORRUPT', { message: `cannot open ${path.split('/').slice(-2).join('/')}`, cause: err });
  }
  return db;
}

/**
 * Applies every migration newer than `PRAGMA user_version` (memory.db's own schema), all in one
 * transaction: all of them or none, and one fsync for a new database instead of one per migration.
 */
export function migrate(db: Database.Database, migrations: readonly Migration[]): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  const pending = [...migrations].sort((a, b) => a.version - b.version).filter((m) => m.version > current);
  const last = pending[pending.length - 1];
  if (last === undefined) return;
  db.transaction(() => {
    for (const m of pending) db.exec(m.sql);
    db.pragma(`user_version = ${last.version}`);
  })();
}
