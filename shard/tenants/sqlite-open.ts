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

export function openTenantDb(path: string, opts: OpenOptions): Database.Database {
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${opts.synchronous}`);
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    applyFeatureMigrations(db, opts.migrations);
  } catch (err) {
    db.close();
    if (err instanceof AppError) throw err;
    throw new AppError('SHARD_STATE_CORRUPT', { message: `cannot open ${path.split('/').slice(-2).join('/')}`, cause: err });
  }
  return db;
}

/** Applies every migration newer than `PRAGMA user_version`, each in its own transaction (memory.db's own schema). */
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
