// The registry of JSON-RPC methods a tenant token may call (one line per feature).
import type { RpcMethod } from '../rpc-method.ts';
import type { TenantStore } from '../../tenants/tenant-store.ts';
import { aiRpcMethods } from '../../ai/ai-rpc-methods.ts';
import { backupMethods } from '../../snapshot/backup-methods.ts';
import { createMemoryMethods } from '../../memory/memory-methods.ts';
import { aiServiceOf } from '../../ai/ai-registry.ts';
import { configMethods } from './config-methods.ts';
import { healthMethods } from './health-methods.ts';
import { tenantSelfMethods } from './tenant-self-methods.ts';

export function defaultRpcMethods(store: () => TenantStore): RpcMethod[] {
  return [
    ...healthMethods,
    ...tenantSelfMethods(store),
    ...configMethods(store),
    ...aiRpcMethods,
    ...backupMethods(store),
    // model:<name> embedders go through the AI service: quota, ledger and SSRF guard apply.
    ...createMemoryMethods({ modelEmbed: async (t, model, input, signal) => (await aiServiceOf(t).embed(t, model, input, undefined, t.requestId, signal)).vectors }),
  ];
}

/** Every method with placeholder dependencies, for generating docs (handlers are never called). */
export function allRpcMethodsForDocs(): RpcMethod[] {
  return defaultRpcMethods(() => {
    throw new Error('docs only');
  });
}
