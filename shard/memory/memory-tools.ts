// memory_search / memory_save as agent tools (OpenAI function-tool shape) and their executors.
import { z } from 'zod';
import { AppError, isAppError } from '../../router/errors/app-error.ts';
import { parseWith } from '../../router/errors/zod-error.ts';
import type { TenantContext } from '../tenants/tenant-context.ts';
import { createMemoryEnv, tenantMemory, type MemoryDeps } from './tenant-memory.ts';

export interface FunctionTool {
  readonly type: 'function';
  readonly function: { readonly name: string; readonly description: string; readonly parameters: Record<string, unknown> };
}

export const MEMORY_TOOL_DEFINITIONS: readonly FunctionTool[] = Object.freeze([
  {
    type: 'function',
    function: {
      name: 'memory_search',
      description: "Search the tenant's long-term memory (notes, facts, documents saved earlier). Returns the best matching passages with scores.",
      parameters: {
        type: 'object',
        properties: {
          query: { type: 'string', description: 'What to look for, in natural language or keywords.' },
          limit: { type: 'integer', minimum: 1, maximum: 20, description: 'How many passages to return (default 5).' },
        },
        required: ['query'],
        additionalProperties: false,
      },
    },
  },
  {
    type: 'function',
    function: {
      name: 'memory_save',
      description: 'Save a fact, note or document to long-term memory so later conversations can find it.',
      parameters: {
        type: 'object',
        properties: {
          text: { type: 'string', description: 'The content to remember.' },
          title: { type: 'string', description: 'A short title.' },
        },
        required: ['text'],
        additionalProperties: false,
      },
    },
  },
]);

const SearchArgs = z.object({ query: z.string().min(1).max(4000), limit: z.number().int().min(1).max(20).optional() }).strict();
const SaveArgs = z.object({ text: z.string(), title: z.string().optional() }).strict();
const TOOL_ARGS = { code: 'VALIDATION_FAILED', prefix: 'Invalid tool arguments', root: '(arguments)' } as const;

export interface MemoryToolContext {
  readonly tenant: TenantContext;
  readonly signal?: AbortSignal;
}

export interface MemoryTools {
  readonly definitions: readonly FunctionTool[];
  /** True for the tool names this module executes. */
  handles(name: string): boolean;
  /**
   * Runs a tool call; `args` is the model's JSON arguments string. Returns the tool message content
   * (JSON). Bad arguments and memory errors come back as `{"error":{code,message}}` so the model can recover.
   */
  execute(name: string, args: string, ctx: MemoryToolContext): Promise<string>;
}

export function createMemoryTools(deps: MemoryDeps = {}): MemoryTools {
  const env = createMemoryEnv(deps);
  const run = async (name: string, args: string, ctx: MemoryToolContext): Promise<unknown> => {
    let json: unknown;
    try {
      json = JSON.parse(args === '' ? '{}' : args);
    } catch {
      throw new AppError('BAD_REQUEST', { message: 'tool arguments are not JSON' });
    }
    if (name === 'memory_search') {
      const p = parseWith(SearchArgs, json, TOOL_ARGS);
      const out = await tenantMemory(ctx.tenant, env).search({ query: p.query, limit: p.limit ?? 5 }, ctx.signal);
      return { results: out.results.map((r) => ({ id: r.id, title: r.title, text: r.text, score: Number(r.score.toFixed(4)) })) };
    }
    if (name === 'memory_save') {
      const p = parseWith(SaveArgs, json, TOOL_ARGS);
      const r = await tenantMemory(ctx.tenant, env).add({ text: p.text, source: 'agent', ...(p.title === undefined ? {} : { title: p.title }) }, ctx.signal);
      return { id: r.id, saved: true };
    }
    throw new AppError('NOT_FOUND', { message: `no memory tool ${name}` });
  };
  return {
    definitions: MEMORY_TOOL_DEFINITIONS,
    handles: (name) => name === 'memory_search' || name === 'memory_save',
    execute: async (name, args, ctx) => {
      try {
        return JSON.stringify(await run(name, args, ctx));
      } catch (err) {
        if (isAppError(err)) return JSON.stringify({ error: { code: err.code, message: err.message, ...(err.details === undefined ? {} : { details: err.details }) } });
        throw err;
      }
    },
  };
}
