// The channels feature (DESIGN §13): channel instances per tenant, the webhook routes, the channels.*
// methods, and connectors that run only on the owner and stop before a freeze's snapshot.
import { aiFeature } from '../ai/ai-feature.ts';
import { defineFeature } from '../app/shard-feature.ts';
import { channelMethods } from './channel-methods.ts';
import { registerChannelRoutes } from './channel-routes.ts';
import { CHANNEL_STATE_MIGRATIONS } from './channel-state-schema.ts';
import { ChannelsConfigSchema } from './channels-config.ts';
import { ChannelsService } from './channels-service.ts';
import { runServiceTurnRunner } from './turn-runner.ts';

export const channelsFeature = defineFeature({
  name: 'channels',
  config: ChannelsConfigSchema,
  migrations: { state: CHANNEL_STATE_MIGRATIONS },
  services: (core, deps) => new ChannelsService(core, deps.config, runServiceTurnRunner(deps.servicesOf(aiFeature).runs)),
  routes(app, svc) {
    registerChannelRoutes(app, svc);
    // Connectors of owned tenants start with the shard (a polling bot must not wait for a request).
    app.addHook('onReady', async () => {
      void svc.startOwnedConnectors();
    });
  },
  rpcMethods: (svc) => channelMethods(svc),
  async onActive(tenant, svc) {
    // Not awaited: resuming pending events runs turns, and a turn leases the tenant, which waits for
    // this activation to finish (awaiting here deadlocked the resume after a restart). A freeze still
    // waits for the load through onInactive → deactivate.
    void svc.activate(svc.systemContext(tenant.id, 'activate')).catch(() => undefined);
  },
  async onInactive(tenant, _reason, svc) {
    // before a freeze's snapshot: no poller left, nothing in flight (the new owner resumes the rest)
    await svc.deactivate(tenant.id);
  },
  pinsResidency: (tenant, svc) => svc.pinsResidency(tenant.id),
});
