// Tenant overlay configs (<tenant>/config.yaml): parsed once and cached; written atomically.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { writeFileAtomic } from './atomic-write.ts';

export class TenantOverlays {
  private readonly cache = new Map<string, Record<string, unknown>>();
  private readonly dirOf: (id: string) => string;

  constructor(dirOf: (id: string) => string) {
    this.dirOf = dirOf;
  }

  read(id: string): Record<string, unknown> {
    const cached = this.cache.get(id);
    if (cached !== undefined) return cached;
    const text = readFileSync(join(this.dirOf(id), 'config.yaml'), 'utf8');
    const parsed = (parseYaml(text) ?? {}) as Record<string, unknown>;
    this.cache.set(id, parsed);
    return parsed;
  }

  /** Writes `next` as the overlay. Callers serialise writers of one tenant (TenantStore's lock). */
  async write(id: string, next: Record<string, unknown>): Promise<void> {
    await writeFileAtomic(join(this.dirOf(id), 'config.yaml'), toYaml(next));
    this.cache.set(id, next);
  }

  /** Drops the cached copy (the file was replaced or removed). */
  forget(id: string): void {
    this.cache.delete(id);
  }
}
