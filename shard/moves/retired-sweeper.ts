// Deletes the data of moved-away tenants (`<data>/retired/`) once their grace period has passed
// (DESIGN §6 step 7): long enough for an operator to look, short enough not to keep data forever.
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** Removes every entry of `retiredDir` older than `graceMs` (by mtime); returns the names removed. */
export async function sweepRetired(retiredDir: string, graceMs: number, now: number): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(retiredDir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const path = join(retiredDir, name);
    try {
      const st = await stat(path);
      if (now - st.mtimeMs < graceMs) continue;
      await rm(path, { recursive: true, force: true });
      removed.push(name);
    } catch {
      // vanished meanwhile: nothing to do
    }
  }
  return removed;
}
