// The registry of JSON-RPC methods a tenant token may call (one line per feature).
import type { RpcMethod } from '../rpc-method.ts';
import type { TenantStore } from '../../tenants/tenant-store.ts';
import { configMethods } from './config-methods.ts';
import { healthMethods } from './health-methods.ts';
import { tenantSelfMethods } from './tenant-self-methods.ts';

export function defaultRpcMethods(store: () => TenantStore): RpcMethod[] {
  return [
    ...healthMethods,
    ...tenantSelfMethods(store),
    ...configMethods(store),
  ];
}
