// A real state.db in a temp directory with the channel tables, for the channel layer's unit tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { openTenantDb } from '../../tenants/sqlite-open.ts';
import { CHANNEL_STATE_SQL } from '../channel-state-schema.ts';

export function openChannelTestDb(): { db: Database.Database; dir: string; close(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'ocmu-channels-'));
  const db = openTenantDb(join(dir, 'state.db'), { synchronous: 'NORMAL', migrations: [{ feature: 'channels', migrations: [{ version: 1, name: 'channels', sql: CHANNEL_STATE_SQL }] }] });
  return {
    db,
    dir,
    close() {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
