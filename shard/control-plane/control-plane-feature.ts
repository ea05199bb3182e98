// The control-plane feature: tenant create/list/get/update/delete, tokens, quotas and the ownership
// controls of moves (admin key, one scoped hook), and a tenant's own tenants.*, config.* and health.
import { defineFeature, type CoreServices, type FeatureServices } from '../app/shard-feature.ts';
import { adminRoutes } from '../http/admin-scope.ts';
import { registerControlRoutes } from '../http/control-routes.ts';
import { configMethods } from '../rpc/methods/config-methods.ts';
import { healthMethods } from '../rpc/methods/health-methods.ts';
import { tenantSelfMethods } from '../rpc/methods/tenant-self-methods.ts';

interface ControlPlaneServices extends FeatureServices {
  readonly core: CoreServices;
}

export const controlPlaneFeature = defineFeature({
  name: 'control-plane',
  services: (core): ControlPlaneServices => ({ core, close: () => undefined }),
  routes(app, _s, core) {
    adminRoutes(app, core, (scope) => registerControlRoutes(scope, core));
  },
  rpcMethods: ({ core }) => [...healthMethods, ...tenantSelfMethods(core.store), ...configMethods(core.store)],
});
