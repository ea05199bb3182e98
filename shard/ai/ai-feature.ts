// The AI feature: the AiService (models, quotas, ledger, session lanes), the OpenAI-compatible
// routes, the admin usage and billing routes, and the agents.*, sessions.*, chat.* and usage methods.
import { defineFeature, type FeatureServices } from '../app/shard-feature.ts';
import { adminRoutes } from '../http/admin-scope.ts';
import { agentMethods } from './agents/agent-methods.ts';
import { AI_STATE_SQL } from './ai-state-schema.ts';
import { AiService } from './ai-service.ts';
import { registerBillingRoutes } from './billing/billing-routes.ts';
import { registerAiRoutes } from './register-ai-routes.ts';
import { RunService } from './run-service.ts';
import { chatMethods } from './sessions/chat-methods.ts';
import { usageMethods } from './usage/usage-methods.ts';

export interface AiServices extends FeatureServices {
  readonly ai: AiService;
  /** The one turn runner: every agent or model turn of any feature starts here. */
  readonly runs: RunService;
}

export const aiFeature = defineFeature({
  name: 'ai',
  // Shipped as state.db user_version 2 before migrations were versioned per feature.
  migrations: { state: [{ version: 1, name: 'ai-surface', sql: AI_STATE_SQL, adoptsUserVersion: 2 }] },
  services(core): AiServices {
    const ai = new AiService({ providers: core.config.providers, models: core.config.models, rateCard: core.config.rateCard }, { now: () => core.now().getTime() });
    return { ai, runs: new RunService(ai, core.ownership), close: () => ai.close() };
  },
  routes(app, { ai, runs }, core) {
    registerAiRoutes(app, ai, runs);
    adminRoutes(app, core, (scope) => registerBillingRoutes(scope, core, ai));
  },
  rpcMethods: ({ ai, runs }) => [...agentMethods, ...chatMethods(ai, runs), ...usageMethods(ai)],
  async onInactive(tenant, reason, { ai }) {
    // its request window is saved to state.db; the gate is rebuilt from there and the ledger
    ai.tenantInactive(tenant.id, reason);
  },
});
