// Wires the AI surface into a shard app: the AiService, the /v1 model routes (OpenAI error shape)
// and the control-plane usage and billing routes. Called once from build-app.ts.
import type { FastifyError, FastifyInstance } from 'fastify';
import type { ShardServices } from '../app/shard-services.ts';
import { tenantsRoot } from '../tenants/tenant-paths.ts';
import { registerAiService } from './ai-registry.ts';
import { AiService } from './ai-service.ts';
import { registerBillingRoutes } from './billing/billing-routes.ts';
import { handleChatCompletions } from './openai-api/chat-completions-route.ts';
import { handleEmbeddings, handleModel, handleModels } from './openai-api/models-embeddings-routes.ts';
import { sendOpenAiError } from './openai-api/openai-error.ts';
import { handleResponses } from './openai-api/responses-route.ts';

export function registerAiRoutes(app: FastifyInstance, svc: ShardServices): AiService {
  const ai = new AiService({ providers: svc.config.providers, models: svc.config.models, rateCard: svc.config.rateCard }, { now: () => svc.now().getTime(), onModelCall: (o) => svc.metrics.modelCall(o) });
  const unregister = registerAiService(tenantsRoot(svc.dataDir), ai);
  app.addHook('onClose', async () => {
    unregister();
    await ai.close();
  });
  app.register(async (scope) => {
    // body-parse failures on these routes answer in OpenAI's error shape too
    scope.setErrorHandler((err: FastifyError, _req, reply) => sendOpenAiError(reply, err));
    scope.post('/v1/chat/completions', (req, reply) => handleChatCompletions(ai, req, reply));
    scope.post('/v1/responses', (req, reply) => handleResponses(ai, req, reply));
    scope.post('/v1/embeddings', (req, reply) => handleEmbeddings(ai, req, reply));
    scope.get('/v1/models', (req, reply) => handleModels(ai, req, reply));
    scope.get('/v1/models/*', (req, reply) => handleModel(ai, req, reply));
  });
  registerBillingRoutes(app, svc, ai);
  return ai;
}
