// Tombstones: <data>/tombstones/<id>.json records that a tenant moved away (new owner + epoch).
import { readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from './atomic-write.ts';

export const TombstoneSchema = z.object({ id: z.string(), owner: z.string(), epoch: z.number().int(), movedAt: z.string() });
export type Tombstone = z.infer<typeof TombstoneSchema>;

export class Tombstones {
  private readonly byId = new Map<string, Tombstone>();
  private readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** Reads every tombstone; an unreadable one is reported and skipped. */
  load(onUnreadable: (file: string, err: unknown) => void): Tombstone[] {
    for (const name of readdirSync(this.dir)) {
      if (!name.endsWith('.json')) continue;
      try {
        const t = TombstoneSchema.parse(JSON.parse(readFileSync(join(this.dir, name), 'utf8')));
        this.byId.set(t.id, t);
      } catch (err) {
        onUnreadable(name, err);
      }
    }
    return [...this.byId.values()];
  }

  get(id: string): Tombstone | undefined {
    return this.byId.get(id);
  }

  async write(t: Tombstone): Promise<void> {
    await writeFileAtomic(join(this.dir, `${t.id}.json`), `${JSON.stringify(t)}\n`);
    this.byId.set(t.id, t);
  }

  /** Forgets the tombstone in memory only (a tenant directory on disk wins over it at load). */
  forget(id: string): void {
    this.byId.delete(id);
  }

  async remove(id: string): Promise<void> {
    if (!this.byId.has(id)) return;
    await rm(join(this.dir, `${id}.json`), { force: true });
    this.byId.delete(id);
  }
}
