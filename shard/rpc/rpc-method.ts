// A JSON-RPC method: its name, its params schema (zod), and its handler over a tenant context.
import type { z } from 'zod';
import type { TenantContext } from '../tenants/tenant-context.ts';

export interface RpcContext {
  readonly tenant: TenantContext;
  /** Aborted when the client goes away (HTTP close, WebSocket close). */
  readonly signal: AbortSignal;
  /** Server events to this caller; present only over /ws. */
  readonly notify?: (method: string, params: unknown) => void;
  /**
   * The bytes this call's result may take (its share of the batch's bound). Methods whose answer
   * size the caller controls page within it (chat.history: messagesWithin); a larger result is refused by the dispatcher.
   */
  readonly resultBudgetBytes?: number;
}

export interface RpcMethod<S extends z.ZodType = z.ZodType> {
  readonly name: string;
  readonly params: S;
  /** One line for docs and `rpc.discover`. */
  readonly summary: string;
  /**
   * Changes the tenant's credentials or existence (rotate, delete, channel secrets): refused to a
   * token in its rotation grace period, so a leaked old token cannot lock the owner out.
   */
  readonly changesCredentials?: boolean;
  /**
   * Adds to the tenant's files (memory, sessions, config, agents): checked against the `diskBytes`
   * quota before it runs, with its params' size as the least it will write (QUOTA_DISK).
   */
  readonly writesDisk?: boolean;
  readonly handler: (ctx: RpcContext, params: z.infer<S>) => unknown;
}

export function defineMethod<S extends z.ZodType>(m: RpcMethod<S>): RpcMethod<S> {
  return m;
}
