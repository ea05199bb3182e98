// The cron feature's tables in a tenant's state.db: jobs and their run claims (they move with the tenant).
import type { Migration } from '../tenants/state-migrations.ts';

const V1 = `
CREATE TABLE IF NOT EXISTS cron_jobs (
  id            TEXT PRIMARY KEY,
  name          TEXT NOT NULL,
  schedule      TEXT NOT NULL,             -- JSON: a cron string, {every}, or {at}
  tz            TEXT,
  action        TEXT NOT NULL,             -- JSON
  missed        TEXT NOT NULL,             -- JSON {policy, windowMs, cap}
  retry         TEXT NOT NULL,             -- JSON {attempts, backoffMs}
  enabled       INTEGER NOT NULL,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL,
  cursor_at     INTEGER NOT NULL,          -- every scheduled time <= this is claimed or let go
  next_run_at   INTEGER,
  next_fire_at  INTEGER
) STRICT;
CREATE TABLE IF NOT EXISTS cron_runs (
  job_id        TEXT NOT NULL REFERENCES cron_jobs(id) ON DELETE CASCADE,
  scheduled_at  INTEGER NOT NULL,
  trigger       TEXT NOT NULL,             -- schedule | manual
  status        TEXT NOT NULL,             -- running | ok | error | interrupted
  attempts      INTEGER NOT NULL,
  started_at    INTEGER NOT NULL,
  finished_at   INTEGER,
  error         TEXT,                      -- JSON {code, message}
  boot          TEXT NOT NULL,
  shard_id      TEXT NOT NULL,
  retry_at      INTEGER,
  result        TEXT,                      -- JSON
  PRIMARY KEY (job_id, scheduled_at)
) STRICT;
CREATE INDEX IF NOT EXISTS cron_runs_status ON cron_runs(status) WHERE status = 'running' OR retry_at IS NOT NULL;
`;

/** Numbered on their own (feature migrations, DESIGN §12). */
export const CRON_STATE_MIGRATIONS: readonly Migration[] = [{ version: 1, name: 'cron-jobs-and-runs', sql: V1 }];
