// Applies each feature's migrations to a tenant database, versioned per feature: a feature numbers
// its own migrations 1, 2, 3... and `feature_migrations` records what ran, so adding a feature (or a
// migration to one) never renumbers another's.
import type Database from 'better-sqlite3';
import { AppError } from '../../router/errors/app-error.ts';
import type { Migration } from './state-migrations.ts';

/** One feature's migrations for one database. */
export interface MigrationSet {
  readonly feature: string;
  readonly migrations: readonly Migration[];
}

const TABLE = `CREATE TABLE IF NOT EXISTS feature_migrations (
  feature TEXT NOT NULL,
  version INTEGER NOT NULL,
  name TEXT NOT NULL,
  applied_at TEXT NOT NULL,
  PRIMARY KEY (feature, version)
)`;

/**
 * Brings `db` up to date: for each set (in order), every migration newer than the feature's highest
 * recorded version runs in its own transaction with its record. A database written before per-feature
 * versions (one `PRAGMA user_version` sequence) is adopted: a migration with `adoptsUserVersion <=
 * user_version` is recorded without running. A feature with a version this build does not know is
 * refused (SHARD_SCHEMA_TOO_NEW) rather than misread; rows of features not listed are left alone.
 */
export function applyFeatureMigrations(db: Database.Database, sets: readonly MigrationSet[], now: () => Date = () => new Date()): void {
  db.exec(TABLE);
  const legacy = db.pragma('user_version', { simple: true }) as number;
  const rows = db.prepare('SELECT feature, max(version) AS version FROM feature_migrations GROUP BY feature').all() as { feature: string; version: number }[];
  const applied = new Map(rows.map((r) => [r.feature, r.version]));
  const record = db.prepare('INSERT INTO feature_migrations (feature, version, name, applied_at) VALUES (?, ?, ?, ?)');
  for (const set of sets) {
    const sorted = [...set.migrations].sort((a, b) => a.version - b.version);
    const known = sorted[sorted.length - 1]?.version ?? 0;
    const current = applied.get(set.feature) ?? 0;
    if (current > known) throw new AppError('SHARD_SCHEMA_TOO_NEW', { details: { feature: set.feature, version: current, supported: known } });
    for (const m of sorted) {
      if (m.version <= current) continue;
      db.transaction(() => {
        const adopted = m.adoptsUserVersion !== undefined && legacy >= m.adoptsUserVersion;
        if (!adopted) db.exec(m.sql);
        record.run(set.feature, m.version, m.name, now().toISOString());
      })();
    }
  }
}
