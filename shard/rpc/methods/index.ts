// The registry of JSON-RPC methods a tenant token may call (one line per feature).
import type { RpcMethod } from '../rpc-method.ts';
import type { TenantStore } from '../../tenants/tenant-store.ts';
import { aiRpcMethods } from '../../ai/ai-rpc-methods.ts';
import { backupMethods } from '../../snapshot/backup-methods.ts';
import { memoryMethods } from '../../memory/memory-methods.ts';
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
    ...memoryMethods,
  ];
}

/** Every method with placeholder dependencies, for generating docs (handlers are never called). */
export function allRpcMethodsForDocs(): RpcMethod[] {
  return defaultRpcMethods(() => {
    throw new Error('docs only');
  });
}
