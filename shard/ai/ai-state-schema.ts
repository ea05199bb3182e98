// The AI surface's tables in a tenant's state.db: sessions, messages, runs, the usage ledger,
// agents and agent files. Applied as one forward-only migration (shard/tenants/state-migrations.ts).

export const AI_STATE_SQL = `
CREATE TABLE ai_sessions (
  id TEXT PRIMARY KEY,
  agent TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  message_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX ai_sessions_updated ON ai_sessions(updated_at, id);
CREATE TABLE ai_messages (
  session_id TEXT NOT NULL REFERENCES ai_sessions(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  role TEXT NOT NULL,
  content TEXT,
  tool_calls TEXT,
  tool_call_id TEXT,
  run_id TEXT,
  created_at TEXT NOT NULL,
  PRIMARY KEY (session_id, seq)
);
CREATE TABLE ai_runs (
  id TEXT PRIMARY KEY,
  session_id TEXT NOT NULL,
  idempotency_key TEXT,
  request_hash TEXT,
  status TEXT NOT NULL,
  error TEXT,
  created_at TEXT NOT NULL,
  finished_at TEXT
);
CREATE UNIQUE INDEX ai_runs_idem ON ai_runs(session_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE TABLE usage_ledger (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  ts TEXT NOT NULL,
  ts_ms INTEGER NOT NULL,
  request_id TEXT NOT NULL,
  session_id TEXT,
  kind TEXT NOT NULL,
  model TEXT NOT NULL,
  status TEXT NOT NULL,
  input_tokens INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL,
  cache_read_tokens INTEGER NOT NULL,
  cache_write_tokens INTEGER NOT NULL,
  reasoning_tokens INTEGER NOT NULL,
  tool_calls INTEGER NOT NULL DEFAULT 0,
  rate_input REAL NOT NULL,
  rate_output REAL NOT NULL,
  rate_cache_read REAL NOT NULL,
  rate_cache_write REAL NOT NULL,
  rate_reasoning REAL NOT NULL,
  cost_usd REAL NOT NULL
);
CREATE INDEX usage_ledger_ts ON usage_ledger(ts_ms);
CREATE TABLE ai_agents (
  name TEXT PRIMARY KEY,
  model TEXT NOT NULL,
  system_prompt TEXT NOT NULL DEFAULT '',
  tools TEXT NOT NULL DEFAULT '[]',
  memory INTEGER NOT NULL DEFAULT 0,
  max_tool_steps INTEGER NOT NULL DEFAULT 4,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE ai_agent_files (
  agent TEXT NOT NULL REFERENCES ai_agents(name) ON DELETE CASCADE ON UPDATE CASCADE,
  path TEXT NOT NULL,
  content TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (agent, path)
);
`;
