// The channel tables in a tenant's state.db: durable ingress, durable egress, polling cursors, pairing.
// Appended as a forward-only migration (never edit this SQL once released; add a new migration).

export const CHANNEL_STATE_SQL = `
CREATE TABLE IF NOT EXISTS channel_ingress (
  channel      TEXT NOT NULL,
  event_id     TEXT NOT NULL,
  conversation TEXT NOT NULL,
  message      TEXT NOT NULL,              -- the normalised message (JSON)
  raw          TEXT NOT NULL,              -- the platform's own payload for this event (JSON)
  received_at  INTEGER NOT NULL,
  state        TEXT NOT NULL CHECK (state IN ('pending', 'done', 'skipped', 'failed')),
  reply        TEXT,                       -- the turn's answer, kept so a resume never re-runs the turn
  outcome      TEXT,
  finished_at  INTEGER,
  PRIMARY KEY (channel, event_id)
) STRICT;
CREATE INDEX IF NOT EXISTS channel_ingress_pending ON channel_ingress (channel, received_at) WHERE state = 'pending';

CREATE TABLE IF NOT EXISTS channel_egress (
  idem_key     TEXT PRIMARY KEY,           -- <channel>:<event id>:<part>
  channel      TEXT NOT NULL,
  event_id     TEXT NOT NULL,
  part         INTEGER NOT NULL,
  conversation TEXT NOT NULL,
  text         TEXT NOT NULL,
  state        TEXT NOT NULL CHECK (state IN ('intent', 'sent', 'unknown_after_send', 'failed')),
  receipt      TEXT,
  error        TEXT,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS channel_egress_state ON channel_egress (channel, state);

CREATE TABLE IF NOT EXISTS channel_cursors (
  channel    TEXT PRIMARY KEY,
  cursor     TEXT NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS channel_pairing_requests (
  channel      TEXT NOT NULL,
  code         TEXT NOT NULL,
  sender       TEXT NOT NULL,
  sender_name  TEXT,
  conversation TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL,
  PRIMARY KEY (channel, code),
  UNIQUE (channel, sender)
) STRICT;

CREATE TABLE IF NOT EXISTS channel_allow (
  channel     TEXT NOT NULL,
  sender      TEXT NOT NULL,
  approved_at INTEGER NOT NULL,
  PRIMARY KEY (channel, sender)
) STRICT;
`;

/** The channel feature's state.db migrations (versioned per feature; append, never edit). */
export const CHANNEL_STATE_MIGRATIONS = [{ version: 1, name: 'channels', sql: CHANNEL_STATE_SQL }] as const;
