// One tenant's memory: its memory.db, its settings and embedder, behind the operations RPC and tools use.
import type Database from 'better-sqlite3';
import { AppError } from '../../router/errors/app-error.ts';
import type { TenantContext } from '../tenants/tenant-context.ts';
import { createEmbedderResolver, type EmbedderDeps, type EmbedderResolver } from './embedder-registry.ts';
import type { Embedder } from './embedder.ts';
import { GatewayEmbedder, type ModelEmbed } from './gateway-embedder.ts';
import { ensureMemorySchema } from './memory-db.ts';
import { addDocument, DEFAULT_LIMITS, deleteDocument, getDocument, listDocuments, type AddResult, type DocumentInput, type MemoryLimits } from './memory-documents.ts';
import { ensureIndex, indexStatus, type IndexStatus } from './memory-indexer.ts';
import { searchMemory, type SearchOutcome } from './memory-search.ts';
import { findIndex } from './vector-index.ts';
import { memorySettings, type MemorySettings } from './memory-settings.ts';

export interface MemoryDeps extends EmbedderDeps {
  readonly now?: () => number;
  readonly limits?: MemoryLimits;
  /** The shard's model gateway, for `model:<name>` embedders (billed to the tenant). */
  readonly modelEmbed?: ModelEmbed;
}

/** What every TenantMemory of one shard shares: the embedder resolver (and its cached clients), the clock, limits. */
export interface MemoryEnv {
  readonly resolve: EmbedderResolver;
  readonly now: () => number;
  readonly limits: MemoryLimits;
  readonly modelEmbed: ModelEmbed | undefined;
}

export function createMemoryEnv(deps: MemoryDeps = {}): MemoryEnv {
  return { resolve: createEmbedderResolver(deps), now: deps.now ?? Date.now, limits: deps.limits ?? DEFAULT_LIMITS, modelEmbed: deps.modelEmbed };
}

const MODEL_SPEC = /^model:([A-Za-z0-9][A-Za-z0-9._:@/-]{0,199})$/;

/** The embedder a setting names; `model:<name>` goes through the tenant's model gateway. */
export function embedderFor(spec: string, tenant: TenantContext, env: MemoryEnv): Embedder {
  const m = MODEL_SPEC.exec(spec);
  if (m === null) return env.resolve(spec);
  if (env.modelEmbed === undefined) {
    throw new AppError('MEMORY_EMBEDDER_INVALID', { details: { embedder: spec.slice(0, 200), reason: 'the model gateway is not wired on this shard' } });
  }
  return new GatewayEmbedder(tenant, m[1] as string, env.modelEmbed);
}

export interface SearchParams {
  readonly query: string;
  readonly limit?: number;
  readonly source?: string;
  readonly since?: number;
  readonly until?: number;
}

export class TenantMemory {
  readonly db: Database.Database;
  readonly settings: MemorySettings;
  readonly embedder: Embedder;
  private readonly env: MemoryEnv;

  constructor(db: Database.Database, settings: MemorySettings, env: MemoryEnv, embedder?: Embedder) {
    this.db = db;
    this.settings = settings;
    this.env = env;
    this.embedder = embedder ?? env.resolve(settings.embedder);
  }

  async add(input: DocumentInput, signal?: AbortSignal): Promise<AddResult> {
    const res = await addDocument(this.db, input, {
      embedder: this.embedder,
      quantization: this.settings.quantization,
      limits: this.env.limits,
      now: this.env.now(),
      ...(signal === undefined ? {} : { signal }),
    });
    await this.kick();
    return res;
  }

  async search(p: SearchParams, signal?: AbortSignal): Promise<SearchOutcome> {
    await this.kick();
    const s = this.settings;
    return searchMemory(this.db, this.embedder, p.query, {
      limit: p.limit ?? 6,
      vectorWeight: s.vectorWeight,
      keywordWeight: s.keywordWeight,
      minScore: s.minScore,
      quantization: s.quantization,
      now: this.env.now(),
      ...(s.recencyHalfLifeDays === undefined ? {} : { recencyHalfLifeDays: s.recencyHalfLifeDays }),
      ...(s.mmrLambda === undefined ? {} : { mmrLambda: s.mmrLambda }),
      ...(p.source === undefined ? {} : { source: p.source }),
      ...(p.since === undefined ? {} : { since: p.since }),
      ...(p.until === undefined ? {} : { until: p.until }),
      ...(signal === undefined ? {} : { signal }),
    });
  }

  get(id: string): NonNullable<ReturnType<typeof getDocument>> {
    const doc = getDocument(this.db, id);
    if (doc === undefined) throw new AppError('MEMORY_NOT_FOUND', { details: { id } });
    return doc;
  }

  delete(id: string): void {
    if (!deleteDocument(this.db, id)) throw new AppError('MEMORY_NOT_FOUND', { details: { id } });
  }

  list(p: { limit?: number; cursor?: string; source?: string }): ReturnType<typeof listDocuments> {
    return listDocuments(this.db, { limit: p.limit ?? 100, ...(p.cursor === undefined ? {} : { cursor: p.cursor }), ...(p.source === undefined ? {} : { source: p.source }) });
  }

  /** Starts (or restarts with `force`) the background build of the configured index; returns its progress. */
  async reindex(force: boolean): Promise<IndexStatus> {
    await ensureIndex(this.db, this.embedder, this.settings.quantization, { now: this.env.now, rebuild: force });
    return this.status();
  }

  status(): IndexStatus {
    return indexStatus(this.db, this.embedder, this.settings.quantization);
  }

  /** Makes sure the configured index exists or is being built; a failing embedder leaves search keyword-only. */
  private async kick(): Promise<void> {
    // Cheap check first: this runs before every search.
    if (findIndex(this.db, this.embedder.kind, this.embedder.model, this.settings.quantization)?.state === 'ready') return;
    try {
      await ensureIndex(this.db, this.embedder, this.settings.quantization, { now: this.env.now });
    } catch (err) {
      if (!(err instanceof AppError && err.code === 'MEMORY_EMBEDDER_UNAVAILABLE')) throw err;
    }
  }
}

/** The tenant's memory, or MEMORY_DISABLED when its config turns memory off. */
export function tenantMemory(tenant: TenantContext, env: MemoryEnv): TenantMemory {
  const settings = memorySettings(tenant.config());
  if (!settings.enabled) throw new AppError('MEMORY_DISABLED');
  const embedder = embedderFor(settings.embedder, tenant, env);
  const db = tenant.memoryDb();
  ensureMemorySchema(db);
  return new TenantMemory(db, settings, env, embedder);
}
