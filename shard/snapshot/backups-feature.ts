// The backups feature: snapshots of tenants to the fleet's blob store (admin routes and the
// tenants.backup / tenants.backups.list methods). Its BackupHost also serves the moves feature.
import { z } from 'zod';
import { openBlobStore } from '../../router/index.ts';
import { defineFeature } from '../app/shard-feature.ts';
import { adminRoutes } from '../http/admin-scope.ts';
import { BackupHost } from './backup-host.ts';
import { backupMethods } from './backup-methods.ts';
import { registerBackupRoutes } from './backup-routes.ts';

const BackupsConfigSchema = z
  .object({
    /**
     * Days a deleted tenant's backups are kept (under deleted-tenants/<id>/<random>/, out of reach of
     * a new tenant with the same id) before they are purged; 0 deletes them with the tenant.
     */
    deletedTenantRetentionDays: z.number().min(0).max(3650).default(7),
  })
  .strict();

export const backupsFeature = defineFeature({
  name: 'backups',
  config: BackupsConfigSchema,
  services: (core, deps) => new BackupHost(core, core.config.blob === undefined ? null : openBlobStore(core.config.blob), { deletedTenantRetentionDays: deps.config.deletedTenantRetentionDays }),
  async onInactive(tenant, reason, host) {
    if (reason === 'deleted') await host.retireDeletedTenant(tenant.id);
  },
  routes(app, host, core) {
    adminRoutes(app, core, (scope) => registerBackupRoutes(scope, host, core.sockets));
  },
  rpcMethods: (host) => backupMethods(host),
});
