// Loads the labelled retrieval corpus (test/fixtures/memory-corpus) and measures recall@k on a TenantMemory.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { TenantMemory } from '../tenant-memory.ts';

const Docs = z.array(z.object({ id: z.string(), source: z.string(), title: z.string(), text: z.string() }));
const Queries = z.array(z.object({ query: z.string(), relevant: z.array(z.string()).min(1) }));

const dir = new URL('../../../test/fixtures/memory-corpus/', import.meta.url);

export function loadCorpus(): { documents: z.infer<typeof Docs>; queries: z.infer<typeof Queries> } {
  return {
    documents: Docs.parse(JSON.parse(readFileSync(new URL('documents.json', dir), 'utf8'))),
    queries: Queries.parse(JSON.parse(readFileSync(new URL('queries.json', dir), 'utf8'))),
  };
}

/** Mean over queries of |relevant ∩ top-k| / min(k, |relevant|). */
export async function recallAtK(mem: TenantMemory, queries: z.infer<typeof Queries>, k: number): Promise<number> {
  let sum = 0;
  for (const q of queries) {
    const got = new Set((await mem.search({ query: q.query, limit: k })).results.map((r) => r.id));
    const hit = q.relevant.filter((id) => got.has(id)).length;
    sum += hit / Math.min(k, q.relevant.length);
  }
  return sum / queries.length;
}
