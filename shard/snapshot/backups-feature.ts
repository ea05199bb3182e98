// The backups feature: snapshots of tenants to the fleet's blob store (admin routes and the
// tenants.backup / tenants.backups.list methods). Its BackupHost also serves the moves feature.
import { openBlobStore } from '../../router/index.ts';
import { defineFeature } from '../app/shard-feature.ts';
import { adminRoutes } from '../http/admin-scope.ts';
import { BackupHost } from './backup-host.ts';
import { backupMethods } from './backup-methods.ts';
import { registerBackupRoutes } from './backup-routes.ts';

export const backupsFeature = defineFeature({
  name: 'backups',
  services: (core) => new BackupHost(core, core.config.blob === undefined ? null : openBlobStore(core.config.blob)),
  routes(app, host, core) {
    adminRoutes(app, core, (scope) => registerBackupRoutes(scope, host, core.sockets));
  },
  rpcMethods: (host) => backupMethods(host),
});
