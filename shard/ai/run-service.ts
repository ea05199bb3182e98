// The one way to run an agent or model turn (DESIGN §12): in flight until its ledger row is written,
// admitted by the quota gate, one run at a time per session, idempotent when given a key, streamed
// as events. chat.send, /v1/chat/completions and /v1/responses call it (channels and cron next).
import { createHash, randomUUID } from 'node:crypto';
import { AppError } from '../../router/errors/app-error.ts';
import type { Ownership } from '../ownership/ownership.ts';
import type { TenantContext } from '../tenants/tenant-context.ts';
import type { Agent } from './agents/agent-store.ts';
import { runAgentTurn } from './agents/agent-runner.ts';
import type { AiService } from './ai-service.ts';
import type { ChatChunk, ChatMessage, ChatRequest, FinishReason, ToolCall, ToolDef, Usage } from './providers/provider.ts';

export type TurnOptions = Pick<ChatRequest, 'temperature' | 'top_p' | 'max_tokens' | 'stop' | 'tool_choice'>;

/** What a turn runs: a plain model call (no transcript), or an agent over its session. */
export type TurnInput =
  | {
      readonly kind: 'model';
      readonly model: string;
      readonly messages: ChatMessage[];
      readonly tools?: ToolDef[];
      readonly options?: TurnOptions;
      /** Provider pass-through fields (OpenAI request extras). */
      readonly extra?: Record<string, unknown>;
    }
  | {
      readonly kind: 'agent';
      /** Resolved once the turn is admitted (a replay of a recorded run never looks it up). */
      readonly agent: () => Agent;
      /** The turn's new messages (persisted to the session before the model runs). */
      readonly messages: ChatMessage[];
      /** System text from the request, after the agent's prompt (not persisted). */
      readonly extraSystem?: string;
      readonly clientTools?: ToolDef[];
      readonly options?: TurnOptions;
      /** What the caller asked, for idempotency: the same key with another fingerprint is a conflict. */
      readonly fingerprint?: unknown;
    };

export interface StartTurn {
  readonly tenant: TenantContext;
  /** The session; required for agent turns. A model turn only names it in its ledger row. */
  readonly session: string | null;
  readonly input: TurnInput;
  /** With a session: the run is recorded (ai_runs), and the same key answers with the same run. */
  readonly idempotencyKey?: string;
  /** Aborted by the caller (client gone, chat.abort through the lane). */
  readonly signal: AbortSignal;
  /** When given, the turn streams: every chunk comes here, with started / final / error. */
  readonly onEvent?: (e: TurnEvent) => void;
}

export type TurnEvent =
  | { readonly type: 'started'; readonly runId: string; readonly sessionId: string | null }
  | { readonly type: 'chunk'; readonly runId: string; readonly chunk: ChatChunk }
  | { readonly type: 'final'; readonly runId: string; readonly sessionId: string | null; readonly content: string | null; readonly usage: Usage }
  | { readonly type: 'error'; readonly runId: string; readonly sessionId: string | null; readonly aborted: boolean; readonly error?: AppError };

export type TurnResult =
  | {
      readonly status: 'final';
      readonly runId: string;
      readonly sessionId: string | null;
      readonly content: string | null;
      readonly toolCalls: ToolCall[];
      readonly finishReason: FinishReason;
      readonly usage: Usage;
    }
  /** A recorded run that was aborted, or the earlier run of a replayed key: read it from ai_runs. */
  | { readonly status: 'aborted' | 'replayed'; readonly runId: string; readonly sessionId: string };

interface RunRow {
  id: string;
  request_hash: string | null;
}

export const laneKey = (tenantId: string, sessionId: string): string => `${tenantId}\u0000${sessionId}`;

export class RunService {
  readonly #ai: AiService;
  readonly #ownership: Ownership;
  /** Recorded runs in progress by `<tenant>\0<runId>`, so a replayed key can wait for its run. */
  readonly #running = new Map<string, Promise<unknown>>();

  constructor(ai: AiService, ownership: Ownership) {
    this.#ai = ai;
    this.#ownership = ownership;
  }

  async startTurn(turn: StartTurn): Promise<TurnResult> {
    // In flight until the ledger row is written, even when the client has gone.
    const hold = this.#ownership.enter(turn.tenant.id);
    try {
      return turn.input.kind === 'model' ? await this.#modelTurn(turn, turn.input) : await this.#agentTurn(turn, turn.input);
    } finally {
      hold?.();
    }
  }

  async #modelTurn(turn: StartTurn, input: Extract<TurnInput, { kind: 'model' }>): Promise<TurnResult> {
    const { tenant } = turn;
    // an unknown model is a 404 before it can count against requests/minute
    this.#ai.registry.resolve(input.model);
    const gate = this.#ai.gateOf(tenant);
    const slot = gate.admitRequest(tenant.record().quota, null);
    const runId = `run-${randomUUID()}`;
    try {
      const call = {
        model: input.model,
        request: { ...input.options, messages: input.messages, ...(input.tools === undefined ? {} : { tools: input.tools }), ...(input.extra === undefined ? {} : { extra: input.extra }) },
        requestId: tenant.requestId,
        sessionId: turn.session,
        signal: turn.signal,
      };
      const emit = turn.onEvent;
      if (emit === undefined) {
        const r = await this.#ai.complete(tenant, call);
        return { status: 'final', runId, sessionId: turn.session, content: r.content, toolCalls: r.toolCalls, finishReason: r.finishReason, usage: r.usage };
      }
      const it = this.#ai.stream(tenant, call);
      for (;;) {
        const n = await it.next();
        if (n.done === true) {
          const r = n.value;
          return { status: 'final', runId, sessionId: turn.session, content: r.content, toolCalls: r.toolCalls, finishReason: r.finishReason, usage: r.usage };
        }
        emit({ type: 'chunk', runId, chunk: n.value });
      }
    } finally {
      gate.releaseRequest(slot);
    }
  }

  async #agentTurn(turn: StartTurn, input: Extract<TurnInput, { kind: 'agent' }>): Promise<TurnResult> {
    const { tenant, session, idempotencyKey } = turn;
    if (session === null) throw new AppError('INTERNAL', { message: 'An agent turn needs a session.' });
    const db = tenant.stateDb();
    const iso = (): string => new Date(this.#ai.nowMs()).toISOString();
    const requestHash = idempotencyKey === undefined ? null : createHash('sha256').update(JSON.stringify(input.fingerprint ?? null)).digest('hex');
    if (idempotencyKey !== undefined) {
      const existing = db.prepare('SELECT id, request_hash FROM ai_runs WHERE session_id = ? AND idempotency_key = ?').get(session, idempotencyKey) as RunRow | undefined;
      if (existing !== undefined) {
        if (existing.request_hash !== requestHash) throw new AppError('AI_IDEMPOTENCY_CONFLICT', { details: { idempotencyKey: idempotencyKey.slice(0, 128) } });
        await this.#running.get(`${tenant.id}\u0000${existing.id}`)?.catch(() => undefined);
        return { status: 'replayed', runId: existing.id, sessionId: session };
      }
    }
    const agent = input.agent();
    const runId = `run-${randomUUID()}`;
    const gate = this.#ai.gateOf(tenant);
    const slot = gate.admitRequest(tenant.record().quota, session);
    const recorded = idempotencyKey !== undefined;
    if (recorded) {
      try {
        db.transaction(() => {
          db.prepare('INSERT INTO ai_sessions (id, agent, created_at, updated_at) VALUES (?,?,?,?) ON CONFLICT(id) DO NOTHING').run(session, agent.name === '' ? null : agent.name, iso(), iso());
          db.prepare("INSERT INTO ai_runs (id, session_id, idempotency_key, request_hash, status, created_at) VALUES (?, ?, ?, ?, 'queued', ?)").run(runId, session, idempotencyKey, requestHash, iso());
        })();
      } catch (err) {
        gate.releaseRequest(slot);
        throw err;
      }
    }
    const finish = (status: string, error: string | null): void => {
      if (recorded) db.prepare('UPDATE ai_runs SET status = ?, error = ?, finished_at = ? WHERE id = ?').run(status, error, iso(), runId);
    };
    const emit = turn.onEvent;
    let runSignal: AbortSignal | undefined;
    const work = this.#ai.lanes.run(laneKey(tenant.id, session), runId, turn.signal, async (signal) => {
      runSignal = signal;
      if (recorded) db.prepare("UPDATE ai_runs SET status = 'running' WHERE id = ?").run(runId);
      emit?.({ type: 'started', runId, sessionId: session });
      return runAgentTurn({
        tenant,
        ai: this.#ai,
        agent,
        sessionId: session,
        runId,
        requestId: tenant.requestId,
        incoming: input.messages,
        ...(input.extraSystem === undefined ? {} : { extraSystem: input.extraSystem }),
        ...(input.clientTools === undefined ? {} : { clientTools: input.clientTools }),
        ...(input.options === undefined ? {} : { options: input.options }),
        signal,
        ...(emit === undefined ? {} : { onChunk: (chunk: ChatChunk) => emit({ type: 'chunk', runId, chunk }) }),
        now: () => this.#ai.nowMs(),
        memoryTools: this.#ai.memoryTools(),
      });
    });
    const key = `${tenant.id}\u0000${runId}`;
    if (recorded) this.#running.set(key, work);
    try {
      const r = await work;
      finish('final', null);
      emit?.({ type: 'final', runId, sessionId: session, content: r.content, usage: r.usage });
      return { status: 'final', runId, sessionId: session, content: r.content, toolCalls: r.toolCalls, finishReason: r.finishReason, usage: r.usage };
    } catch (err) {
      // aborted by chat.abort, by the client going away, or while still queued
      const aborted = runSignal?.aborted === true || turn.signal.aborted || (runSignal === undefined && !(err instanceof AppError));
      finish(aborted ? 'aborted' : 'error', err instanceof AppError ? err.code : aborted ? 'aborted' : 'INTERNAL');
      emit?.({ type: 'error', runId, sessionId: session, aborted, ...(err instanceof AppError ? { error: err } : {}) });
      if (aborted && recorded) return { status: 'aborted', runId, sessionId: session };
      throw err;
    } finally {
      this.#running.delete(key);
      gate.releaseRequest(slot);
    }
  }
}
