// Forward-only migrations of a tenant's state.db; features append entries (never edit old ones).
import { AI_STATE_SQL } from '../ai/ai-state-schema.ts';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const STATE_MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'meta',
    sql: `CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);`,
  },
  { version: 2, name: 'ai-surface', sql: AI_STATE_SQL },
];
