// Opens a tenant SQLite database with the project's pragmas and applies forward-only migrations.
import Database from 'better-sqlite3';
import { AppError } from '../../router/errors/app-error.ts';
import type { Migration } from './state-migrations.ts';

export interface OpenOptions {
  /** 'FULL' for anything acknowledged to a client (ledger, sessions); see docs/configuration.md. */
  synchronous: 'FULL' | 'NORMAL';
  migrations: readonly Migration[];
}

/** Page cache per connection, in KiB (SQLite's default is 2,000): a shard keeps many tenants resident. */
export const TENANT_DB_CACHE_KIB = 256;
/** The -wal file is cut back to this after a checkpoint instead of keeping its largest size. */
export const TENANT_DB_WAL_LIMIT_BYTES = 1024 * 1024;

/** The pragmas every tenant connection gets: WAL, the given durability, a small cache, no kept WAL growth. */
export function applyTenantPragmas(db: Database.Database, synchronous: 'FULL' | 'NORMAL'): void {
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
    migrate(db, opts.migrations);
  } catch (err) {
    db.close();
    throw new AppError('SHARD_STATE_CORRUPT', { message: `cannot open ${path.split('/').slice(-2).join('/')}`, cause: err });
  }
  return db;
}

/** Applies every migration newer than `PRAGMA user_version`, each in its own transaction. */
export function migrate(db: Database.Database, migrations: readonly Migration[]): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  for (const m of sorted) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
}
