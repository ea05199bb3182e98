// The moves feature: the shard side of moving a tenant (move snapshot, frozen import, discard),
// over the backups feature's blob store.
import { defineFeature } from '../app/shard-feature.ts';
import { adminRoutes } from '../http/admin-scope.ts';
import { backupsFeature } from '../snapshot/backups-feature.ts';
import type { BackupHost } from '../snapshot/backup-host.ts';
import { registerMoveRoutes } from './move-routes.ts';

export const movesFeature = defineFeature({
  name: 'moves',
  services: (_core, deps): { backups: BackupHost; close(): void } => ({ backups: deps.servicesOf(backupsFeature), close: () => undefined }),
  routes(app, s, core) {
    adminRoutes(app, core, (scope) => registerMoveRoutes(scope, core, s.backups));
  },
});
