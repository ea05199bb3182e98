// Forward-only migrations of a tenant's memory.db (append entries; never edit a shipped one).
import type { Migration } from '../tenants/state-migrations.ts';

export const MEMORY_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'documents, chunks, fts5, embedding cache, vector index registry',
    sql: `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE documents (
  id TEXT PRIMARY KEY,
  source TEXT NOT NULL,
  title TEXT,
  path TEXT,
  text TEXT NOT NULL,
  hash TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  created INTEGER NOT NULL,
  updated INTEGER NOT NULL
) STRICT;
CREATE INDEX documents_updated ON documents (updated, id);
CREATE TABLE chunks (
  id INTEGER PRIMARY KEY,
  doc_id TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  source TEXT NOT NULL,
  title TEXT,
  path TEXT,
  text TEXT NOT NULL,
  hash TEXT NOT NULL,
  created INTEGER NOT NULL,
  updated INTEGER NOT NULL
) STRICT;
CREATE INDEX chunks_doc ON chunks (doc_id, seq);
CREATE INDEX chunks_hash ON chunks (hash);
CREATE VIRTUAL TABLE chunks_fts USING fts5 (
  text, title, content = 'chunks', content_rowid = 'id', tokenize = 'porter unicode61 remove_diacritics 2'
);
-- The default rank: BM25 with the title weighted half the text (queries use ORDER BY rank, FTS5's fast path).
INSERT INTO chunks_fts (chunks_fts, rank) VALUES ('rank', 'bm25(1.0, 0.5)');
CREATE TRIGGER chunks_ai AFTER INSERT ON chunks BEGIN
  INSERT INTO chunks_fts (rowid, text, title) VALUES (new.id, new.text, coalesce(new.title, ''));
END;
CREATE TRIGGER chunks_ad AFTER DELETE ON chunks BEGIN
  INSERT INTO chunks_fts (chunks_fts, rowid, text, title) VALUES ('delete', old.id, old.text, coalesce(old.title, ''));
END;
CREATE TRIGGER chunks_au AFTER UPDATE OF text, title ON chunks BEGIN
  INSERT INTO chunks_fts (chunks_fts, rowid, text, title) VALUES ('delete', old.id, old.text, coalesce(old.title, ''));
  INSERT INTO chunks_fts (rowid, text, title) VALUES (new.id, new.text, coalesce(new.title, ''));
END;
CREATE TABLE embedding_cache (
  embedder TEXT NOT NULL,
  model TEXT NOT NULL,
  hash TEXT NOT NULL,
  dim INTEGER NOT NULL,
  vector BLOB NOT NULL,
  created INTEGER NOT NULL,
  PRIMARY KEY (embedder, model, hash)
) STRICT, WITHOUT ROWID;
CREATE TABLE vec_indexes (
  name TEXT PRIMARY KEY,
  embedder TEXT NOT NULL,
  model TEXT NOT NULL,
  dim INTEGER NOT NULL,
  quantization TEXT NOT NULL CHECK (quantization IN ('none', 'int8', 'binary')),
  state TEXT NOT NULL CHECK (state IN ('building', 'ready')),
  done INTEGER NOT NULL DEFAULT 0,
  total INTEGER NOT NULL DEFAULT 0,
  created INTEGER NOT NULL
) STRICT;
`,
  },
  {
    version: 2,
    name: 'embedding cache as a rowid table',
    // WITHOUT ROWID keeps whole rows (1.5 KB vectors) in the key b-tree, so every lookup read
    // overflow pages: ~100 µs per row. A rowid table with a unique key index is ~50× faster.
    sql: `
CREATE TABLE embedding_cache_v2 (
  id INTEGER PRIMARY KEY,
  embedder TEXT NOT NULL,
  model TEXT NOT NULL,
  hash TEXT NOT NULL,
  dim INTEGER NOT NULL,
  vector BLOB NOT NULL,
  created INTEGER NOT NULL,
  UNIQUE (embedder, model, hash)
) STRICT;
INSERT INTO embedding_cache_v2 (embedder, model, hash, dim, vector, created)
  SELECT embedder, model, hash, dim, vector, created FROM embedding_cache;
DROP TABLE embedding_cache;
ALTER TABLE embedding_cache_v2 RENAME TO embedding_cache;
`,
  },
];

/** The schema version this build writes; a newer file is refused rather than misread. */
export const MEMORY_SCHEMA_VERSION = Math.max(...MEMORY_MIGRATIONS.map((m) => m.version));
