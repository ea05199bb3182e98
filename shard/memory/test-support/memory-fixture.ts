// Test helper: a real memory.db in a temp dir with a TenantMemory over it (closed by the test).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { openMemoryDb } from '../memory-db.ts';
import { runningBuild, stopBuild } from '../memory-indexer.ts';
import { DEFAULT_MEMORY_SETTINGS, type MemorySettings } from '../memory-settings.ts';
import { createMemoryEnv, TenantMemory, type MemoryDeps } from '../tenant-memory.ts';

export interface Owner {
  after(fn: () => unknown): void;
}

export function tempDir(t: Owner, prefix = 'ocmu-mem-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function openTempDb(t: Owner, dir = tempDir(t)): { db: Database.Database; path: string } {
  const path = join(dir, 'memory.db');
  const db = openMemoryDb(path);
  t.after(async () => {
    await stopBuild(db);
    if (db.open) db.close();
  });
  return { db, path };
}

export function memoryOver(db: Database.Database, settings: Partial<MemorySettings> = {}, deps: MemoryDeps = {}): TenantMemory {
  return new TenantMemory(db, { ...DEFAULT_MEMORY_SETTINGS, ...settings }, createMemoryEnv(deps));
}

/** Awaits the background index build of `db`, if one runs. */
export async function settled(db: Database.Database): Promise<void> {
  for (let p = runningBuild(db); p !== undefined; p = runningBuild(db)) await p;
}
