// The shape of a forward-only migration, and the shard core's own state.db tables. Features declare
// theirs in their ShardFeature (shard/app/features.ts); see feature-migrations.ts for versioning.

export interface Migration {
  /** 1, 2, 3... within one feature (never reused, never edited once shipped). */
  readonly version: number;
  readonly name: string;
  readonly sql: string;
  /**
   * For migrations shipped before per-feature versions: the `PRAGMA user_version` they were applied
   * as. A database at that user_version or later already has the tables; the migration is only recorded.
   */
  readonly adoptsUserVersion?: number;
}

/** The shard core's state.db tables (feature name `shard`). */
export const CORE_STATE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'meta',
    sql: `CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);`,
    adoptsUserVersion: 1,
  },
];
