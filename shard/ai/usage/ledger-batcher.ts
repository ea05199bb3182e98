// Group commit for the usage ledger: rows queued in one event-loop turn are written in one
// transaction per database (one fsync instead of one per row); each caller's promise resolves
// only after its row is durable, so a reply is never acknowledged ahead of its ledger row.
import type Database from 'better-sqlite3';
import { appendLedger, type LedgerInput } from './usage-ledger.ts';

interface Pending {
  db: Database.Database;
  row: LedgerInput;
  resolve: (v: { id: number; costUsd: number }) => void;
  reject: (e: unknown) => void;
}

export class LedgerBatcher {
  private queue: Pending[] = [];
  private scheduled = false;

  append(db: Database.Database, row: LedgerInput): Promise<{ id: number; costUsd: number }> {
    return new Promise((resolve, reject) => {
      this.queue.push({ db, row, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Writes everything queued now; also called on close so nothing queued is dropped. */
  flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    const byDb = new Map<Database.Database, Pending[]>();
    for (const p of batch) byDb.set(p.db, [...(byDb.get(p.db) ?? []), p]);
    for (const [db, items] of byDb) {
      let results: { id: number; costUsd: number }[];
      try {
        results = db.transaction(() => items.map((p) => appendLedger(db, p.row)))();
      } catch (err) {
        for (const p of items) p.reject(err);
        continue;
      }
      items.forEach((p, i) => p.resolve(results[i] as { id: number; costUsd: number }));
    }
  }
}
