// tenants.backup / tenants.backups.list: a tenant backs up and lists its own snapshots (the id comes from the token).
import { z } from 'zod';
import { defineMethod, type RpcMethod } from '../rpc/rpc-method.ts';
import type { BackupHost } from './backup-host.ts';

export function backupMethods(host: BackupHost): RpcMethod[] {
  return [
    defineMethod({
      name: 'tenants.backup',
      summary: 'Takes a snapshot of this tenant into the fleet blob store (one per minute); returns its key, size and sha256.',
      params: z.object({}).strict(),
      handler: async (ctx) => {
        const res = await host.tenantBackup(ctx.tenant.id, { actor: ctx.tenant.actor, requestId: ctx.tenant.requestId });
        return { id: res.id, key: res.key, bytes: res.bytes, sha256: res.sha256, files: res.files, createdAt: res.createdAt, epoch: res.epoch };
      },
    }),
    defineMethod({
      name: 'tenants.backups.list',
      summary: "This tenant's complete snapshots, oldest first.",
      params: z.object({}).strict(),
      handler: async (ctx) => ({ backups: await host.list(ctx.tenant.id) }),
    }),
  ];
}
