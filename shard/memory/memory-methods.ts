// The memory.* JSON-RPC methods of a tenant (issue 6).
import { z } from 'zod';
import { defineMethod, type RpcMethod } from '../rpc/rpc-method.ts';
import { DOC_ID } from './memory-documents.ts';
import { createMemoryEnv, tenantMemory, type MemoryDeps } from './tenant-memory.ts';

const docId = z.string().regex(DOC_ID);
// The text's size and form are checked by the store, so a bad document gets a MEMORY_* code.
const AddParams = z.object({
  id: docId.optional(),
  text: z.string(),
  title: z.string().optional(),
  source: z.string().optional(),
  path: z.string().optional(),
});
const SearchParamsSchema = z.object({
  query: z.string().max(4000),
  limit: z.number().int().min(1).max(100).optional(),
  source: z.string().max(64).optional(),
  /** ms since the epoch, inclusive. */
  since: z.number().int().min(0).optional(),
  until: z.number().int().min(0).optional(),
});

/** The memory methods over a shard's embedder options (operator providers, local ONNX models). */
export function createMemoryMethods(deps: MemoryDeps = {}): RpcMethod[] {
  const env = createMemoryEnv(deps);
  return [
    defineMethod({
      name: 'memory.add',
      writesDisk: true,
      summary: 'Adds a document to memory (or replaces the one with the same id); returns its id.',
      params: AddParams,
      handler: async (ctx, p) => {
        const r = await tenantMemory(ctx.tenant, env).add(p, ctx.signal);
        return { id: r.id, created: r.created, chunks: { added: r.added, removed: r.removed, kept: r.kept } };
      },
    }),
    defineMethod({
      name: 'memory.search',
      summary: 'Hybrid (vector + BM25) search of memory; results best first.',
      params: SearchParamsSchema,
      handler: async (ctx, p) => {
        const out = await tenantMemory(ctx.tenant, env).search(p, ctx.signal);
        return {
          mode: out.mode,
          results: out.results.map((r) => ({ id: r.id, title: r.title, text: r.text, score: r.score, source: r.source, updated: r.updated })),
        };
      },
    }),
    defineMethod({
      name: 'memory.get',
      summary: 'One memory document with its full text.',
      params: z.object({ id: docId }),
      handler: (ctx, p) => tenantMemory(ctx.tenant, env).get(p.id),
    }),
    defineMethod({
      name: 'memory.delete',
      summary: 'Deletes a memory document and everything indexed from it.',
      params: z.object({ id: docId }),
      handler: (ctx, p) => {
        tenantMemory(ctx.tenant, env).delete(p.id);
        return { id: p.id, deleted: true };
      },
    }),
    defineMethod({
      name: 'memory.list',
      summary: 'Memory documents by id, a page at a time (cursor = last id seen).',
      params: z.object({ limit: z.number().int().min(1).max(1000).optional(), cursor: z.string().max(128).optional(), source: z.string().max(64).optional() }),
      handler: (ctx, p) => tenantMemory(ctx.tenant, env).list(p),
    }),
    defineMethod({
      name: 'memory.reindex',
      writesDisk: true,
      summary: 'Builds the vector index for the configured embedder in the background (force: from scratch); returns progress.',
      params: z.object({ force: z.boolean().optional() }),
      handler: (ctx, p) => tenantMemory(ctx.tenant, env).reindex(p.force === true),
    }),
    defineMethod({
      name: 'memory.status',
      summary: 'Progress of the vector index for the configured embedder.',
      params: z.object({}),
      handler: (ctx) => tenantMemory(ctx.tenant, env).status(),
    }),
  ];
}

/** The memory methods with the built-in embedder only (no operator providers wired). */
export const memoryMethods: RpcMethod[] = createMemoryMethods();
