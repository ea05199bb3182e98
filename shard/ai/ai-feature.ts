// The AI feature: the AiService (models, quotas, ledger, session lanes), the OpenAI-compatible
// routes, the admin usage and billing routes, and the agents.*, sessions.*, chat.* and usage methods.
import { defineFeature } from '../app/shard-feature.ts';
import { adminRoutes } from '../http/admin-scope.ts';
import { agentMethods } from './agents/agent-methods.ts';
import { AI_STATE_SQL } from './ai-state-schema.ts';
import { AiService } from './ai-service.ts';
import { registerBillingRoutes } from './billing/billing-routes.ts';
import { registerAiRoutes } from './register-ai-routes.ts';
import { chatMethods } from './sessions/chat-methods.ts';
import { usageMethods } from './usage/usage-methods.ts';

export const aiFeature = defineFeature({
  name: 'ai',
  // Shipped as state.db user_version 2 before migrations were versioned per feature.
  migrations: { state: [{ version: 1, name: 'ai-surface', sql: AI_STATE_SQL, adoptsUserVersion: 2 }] },
  services: (core) => new AiService({ providers: core.config.providers, models: core.config.models, rateCard: core.config.rateCard }, { now: () => core.now().getTime() }),
  routes(app, ai, core) {
    registerAiRoutes(app, ai);
    adminRoutes(app, core, (scope) => registerBillingRoutes(scope, core, ai));
  },
  rpcMethods: (ai) => [...agentMethods, ...chatMethods(ai), ...usageMethods(ai)],
  async onInactive(tenant, _reason, ai) {
    // its quota gate is rebuilt from the ledger when the tenant is active again
    ai.forgetTenant(tenant.id);
  },
});
