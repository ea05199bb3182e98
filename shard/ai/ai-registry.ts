// Finds the AiService of the shard a tenant context belongs to (RPC methods get only the context).
import { dirname, resolve } from 'node:path';
import { AppError } from '../../router/errors/app-error.ts';
import type { TenantContext } from '../tenants/tenant-context.ts';
import type { AiService } from './ai-service.ts';

const byTenantsRoot = new Map<string, AiService>();

export function registerAiService(tenantsRoot: string, ai: AiService): () => void {
  const key = resolve(tenantsRoot);
  byTenantsRoot.set(key, ai);
  return () => {
    if (byTenantsRoot.get(key) === ai) byTenantsRoot.delete(key);
  };
}

export function aiServiceOf(tenant: TenantContext): AiService {
  const ai = byTenantsRoot.get(dirname(resolve(tenant.dir)));
  if (ai === undefined) throw new AppError('INTERNAL', { message: 'The AI service is not running on this shard.' });
  return ai;
}
