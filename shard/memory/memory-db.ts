// Opens a tenant's memory.db: WAL, sqlite-vec loaded, forward-only migrations applied.
import Database from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';
import { AppError } from '../../router/errors/app-error.ts';
import { applyTenantPragmas, migrate } from '../tenants/sqlite-open.ts';
import { MEMORY_MIGRATIONS, MEMORY_SCHEMA_VERSION } from './memory-migrations.ts';

/** Loads sqlite-vec into an open connection (idempotent per connection). */
export function loadVectorExtension(db: Database.Database): void {
  sqliteVec.load(db);
}

const prepared = new WeakSet<Database.Database>();

/**
 * Makes any open handle on a memory.db usable by this module: loads sqlite-vec (once per
 * connection) and applies pending migrations. Lets memory work whatever opener the shard wired.
 */
export function ensureMemorySchema(db: Database.Database): void {
  if (prepared.has(db)) return;
  let loaded = true;
  try {
    db.prepare('SELECT vec_version()').get();
  } catch {
    loaded = false;
  }
  if (!loaded) loadVectorExtension(db);
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MEMORY_SCHEMA_VERSION) throw new AppError('MEMORY_SCHEMA_TOO_NEW', { details: { version, supported: MEMORY_SCHEMA_VERSION } });
  migrate(db, MEMORY_MIGRATIONS);
  prepared.add(db);
}

/**
 * Opens (creating if needed) the memory database at `path`. This is the opener the shard's
 * TenantDatabases takes as `openMemoryDb`. Refuses a file written by a newer schema.
 */
export function openMemoryDb(path: string): Database.Database {
  const db = new Database(path);
  try {
    applyTenantPragmas(db, 'FULL');
    ensureMemorySchema(db);
  } catch (err) {
    db.close();
    if (err instanceof AppError) throw err;
    throw new AppError('SHARD_STATE_CORRUPT', { message: 'cannot open memory.db', cause: err });
  }
  return db;
}
