// The AI service of one shard: model registry, rate card, quota gates and session lanes; every
// model call goes through here so that quota reservation and the ledger row can never be skipped.
import type Database from 'better-sqlite3';
import { createMemoryTools, type MemoryTools } from '../memory/memory-tools.ts';
import type { TenantContext } from '../tenants/tenant-context.ts';
import type { InactiveReason } from '../tenants/tenant-lifecycle.ts';
import type { AiConfig, RateCard } from './ai-config.ts';
import { echoInputTokens, echoTokens } from './providers/echo-provider.ts';
import { ECHO_MODEL, ModelRegistry, type ResolvedModel } from './providers/model-registry.ts';
import { textOf, totalTokens, ZERO_USAGE, type ChatChunk, type ChatMessage, type ChatRequest, type ChatResult, type Usage } from './providers/provider.ts';
import { QuotaGate, type Reservation } from './quota/quota-gate.ts';
import { SessionLanes } from './sessions/session-lanes.ts';
import { costOf, rateFor, type AppliedRate } from './usage/rate-card.ts';
import { LedgerBatcher } from './usage/ledger-batcher.ts';

/** Output tokens reserved for a call that names no max_tokens while a token or cost limit is set. */
export const DEFAULT_OUTPUT_RESERVE = 4096;

export interface ModelCall {
  /** The model name as the client gave it (alias, `openai/x`, `echo`). */
  model: string;
  request: Omit<ChatRequest, 'model'>;
  requestId: string;
  sessionId: string | null;
  signal: AbortSignal;
}

export interface CallOutcome extends ChatResult {
  model: string;
  costUsd: number;
}

/** A conservative pre-call token estimate (≈3 characters per token plus framing per message). */
export function estimateInputTokens(resolved: ResolvedModel, messages: ChatMessage[], tools: unknown): number {
  if (resolved.id === ECHO_MODEL) return echoInputTokens(messages);
  let chars = tools === undefined ? 0 : JSON.stringify(tools).length;
  for (const m of messages) chars += textOf(m.content).length + JSON.stringify(m.tool_calls ?? []).length + 16;
  return Math.ceil(chars / 3) + 8;
}

export class AiService {
  readonly registry: ModelRegistry;
  readonly lanes = new SessionLanes();
  private rateCard: RateCard;
  private readonly now: () => number;
  private readonly gates = new Map<string, QuotaGate>();
  private readonly ledger = new LedgerBatcher();
  private memory: MemoryTools | undefined;

  constructor(cfg: AiConfig, opts: { now?: () => number } = {}) {
    this.registry = new ModelRegistry(cfg);
    this.rateCard = cfg.rateCard;
    this.now = opts.now ?? Date.now;
  }

  /** The memory tools agents with memory on get (created on first use: embedders are lazy). */
  memoryTools(): MemoryTools {
    this.memory ??= createMemoryTools({ now: this.now });
    return this.memory;
  }

  nowMs(): number {
    return this.now();
  }

  /** Swaps the rate card (operator reload); rows already written keep the cost they were given. */
  setRateCard(card: RateCard): void {
    this.rateCard = card;
  }

  rateOf(model: string): AppliedRate {
    return rateFor(this.rateCard, model);
  }

  /** The tenant's gate; rebuilt from the ledger whenever its state.db handle changed (freeze, move). */
  gateOf(tenant: TenantContext): QuotaGate {
    const db: Database.Database = tenant.stateDb();
    let g = this.gates.get(tenant.id);
    if (g === undefined || g.db !== db) {
      g = new QuotaGate(db, this.now);
      this.gates.set(tenant.id, g);
    }
    return g;
  }

  /**
   * The AI side of a tenant leaving residency: its request window goes to state.db (unless the
   * tenant is deleted or replaced) and its gate is dropped; the next gateOf rebuilds it from state.db.
   */
  tenantInactive(tenantId: string, reason: InactiveReason): void {
    const gate = this.gates.get(tenantId);
    this.gates.delete(tenantId);
    if (gate === undefined || reason === 'deleted' || reason === 'replaced' || !gate.db.open) return;
    gate.saveRequestWindow();
  }

  /** Reserves the worst case of a call and fixes max_tokens so the call cannot exceed it. */
  private reserve(tenant: TenantContext, resolved: ResolvedModel, req: ChatRequest): Reservation {
    const q = tenant.record().quota;
    const gate = this.gateOf(tenant);
    const rate = this.rateOf(resolved.id);
    const input = estimateInputTokens(resolved, req.messages, req.tools);
    const inRate = Math.max(rate.input, rate.cacheWrite, rate.cacheRead);
    const outRate = Math.max(rate.output, rate.reasoning);
    const limited = q.tokensPerDay !== undefined || q.tokensPerMonth !== undefined || q.usdPerDay !== undefined || q.usdPerMonth !== undefined;
    let out = req.max_tokens ?? 0;
    if (limited && req.max_tokens === undefined) {
      const rem = gate.remaining(q);
      const byTokens = rem.tokens - input;
      const byUsd = outRate > 0 ? Math.floor(((rem.usd - (input * inRate) / 1e6) * 1e6) / outRate) : Infinity;
      out = Math.max(1, Math.min(DEFAULT_OUTPUT_RESERVE, byTokens, byUsd));
      req.max_tokens = out; // the upstream stops where the quota would
    }
    return gate.reserve(q, input + out, (input * inRate + out * outRate) / 1e6);
  }

  /**
   * Settles the reservation with the actual usage at once (the gate stays exact) and resolves
   * when the ledger row is durable (group commit).
   */
  private async record(tenant: TenantContext, call: ModelCall, kind: 'chat' | 'embeddings', resolved: ResolvedModel, res: Reservation, usage: Usage, status: 'ok' | 'aborted' | 'error', toolCalls: number): Promise<number> {
    const tsMs = this.now();
    const rate = this.rateOf(resolved.id);
    const gate = this.gateOf(tenant);
    gate.settle(res, totalTokens(usage), costOf(usage, rate), tsMs);
    const { costUsd } = await this.ledger.append(tenant.stateDb(), { tsMs, requestId: call.requestId, sessionId: call.sessionId, kind, model: resolved.id, status, usage, toolCalls, rate });
    return costUsd;
  }

  async complete(tenant: TenantContext, call: ModelCall): Promise<CallOutcome> {
    const resolved = this.registry.resolve(call.model);
    const req: ChatRequest = { ...call.request, model: resolved.upstreamModel };
    const res = this.reserve(tenant, resolved, req);
    let result: ChatResult;
    try {
      result = await resolved.provider.chat(req, call.signal);
    } catch (err) {
      await this.record(tenant, call, 'chat', resolved, res, ZERO_USAGE, call.signal.aborted ? 'aborted' : 'error', 0);
      throw err;
    }
    const costUsd = await this.record(tenant, call, 'chat', resolved, res, result.usage, 'ok', result.toolCalls.length);
    return { ...result, model: resolved.id, costUsd };
  }

  /**
   * Streams a call. The ledger row is written when the stream ends for any reason: with the
   * upstream's usage when it arrived, else with an estimate of what was produced (status aborted).
   */
  async *stream(tenant: TenantContext, call: ModelCall): AsyncGenerator<ChatChunk, CallOutcome> {
    const resolved = this.registry.resolve(call.model);
    const req: ChatRequest = { ...call.request, model: resolved.upstreamModel };
    const res = this.reserve(tenant, resolved, req);
    let usage: Usage | undefined;
    let produced = '';
    let content = '';
    let sawContent = false;
    const calls = new Map<number, { id: string; name: string; arguments: string }>();
    let finish: ChatResult['finishReason'] = 'stop';
    let status: 'ok' | 'aborted' | 'error' | 'running' = 'running';
    try {
      for await (const c of resolved.provider.chatStream(req, call.signal)) {
        if (c.content !== undefined) {
          content += c.content;
          sawContent = true;
        }
        for (const tc of c.toolCalls ?? []) {
          const cur = calls.get(tc.index) ?? { id: '', name: '', arguments: '' };
          if (tc.id !== undefined) cur.id = tc.id;
          if (tc.name !== undefined) cur.name = tc.name;
          cur.arguments += tc.arguments ?? '';
          calls.set(tc.index, cur);
          produced += `${tc.name ?? ''} ${tc.arguments ?? ''}`;
        }
        if (c.finishReason !== undefined) finish = c.finishReason;
        if (c.usage !== undefined) usage = c.usage;
        yield c;
      }
      status = 'ok';
    } catch (err) {
      status = call.signal.aborted ? 'aborted' : 'error';
      throw err;
    } finally {
      // runs on normal end, on error, and when the consumer stops early (client gone): the row
      // carries the upstream's usage when it came, else an estimate of what was produced
      const final = status === 'running' ? 'aborted' : status;
      const billed = usage ?? this.estimatePartial(resolved, req, content + produced);
      await this.record(tenant, call, 'chat', resolved, res, billed, final, calls.size);
    }
    const toolCalls = [...calls.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => ({ id: v.id, type: 'function' as const, function: { name: v.name, arguments: v.arguments } }));
    const u = usage ?? ZERO_USAGE;
    return { content: sawContent ? content : null, toolCalls, finishReason: finish, usage: u, model: resolved.id, costUsd: costOf(u, this.rateOf(resolved.id)) };
  }

  /** What a stream cut short is billed: the input estimate and the output produced so far. */
  private estimatePartial(resolved: ResolvedModel, req: ChatRequest, produced: string): Usage {
    const input = estimateInputTokens(resolved, req.messages, req.tools);
    const output = resolved.id === ECHO_MODEL ? echoTokens(produced) : Math.ceil(produced.length / 4);
    return { ...ZERO_USAGE, input, output };
  }

  async embed(tenant: TenantContext, model: string, input: string[], dimensions: number | undefined, requestId: string, signal: AbortSignal) {
    const resolved = this.registry.resolve(model);
    const q = tenant.record().quota;
    const gate = this.gateOf(tenant);
    const rate = this.rateOf(resolved.id);
    const est = resolved.id === ECHO_MODEL ? input.reduce((n, t) => n + echoTokens(t), 0) : Math.ceil(input.reduce((n, t) => n + t.length, 0) / 3) + 8;
    const res = gate.reserve(q, est, (est * rate.input) / 1e6);
    const call: ModelCall = { model, request: { messages: [] }, requestId, sessionId: null, signal };
    let out;
    try {
      out = await resolved.provider.embed({ model: resolved.upstreamModel, input, ...(dimensions === undefined ? {} : { dimensions }) }, signal);
    } catch (err) {
      await this.record(tenant, call, 'embeddings', resolved, res, ZERO_USAGE, 'error', 0);
      throw err;
    }
    const costUsd = await this.record(tenant, call, 'embeddings', resolved, res, out.usage, 'ok', 0);
    return { ...out, model: resolved.id, costUsd };
  }

  async close(): Promise<void> {
    this.lanes.abortAll();
    this.ledger.flush();
    await this.registry.close();
  }
}
