// The AI surface's HTTP routes: the OpenAI-compatible /v1 model routes (OpenAI error shape).
import type { FastifyError, FastifyInstance } from 'fastify';
import type { AiService } from './ai-service.ts';
import { handleChatCompletions } from './openai-api/chat-completions-route.ts';
import { handleEmbeddings, handleModel, handleModels } from './openai-api/models-embeddings-routes.ts';
import { sendOpenAiError } from './openai-api/openai-error.ts';
import { handleResponses } from './openai-api/responses-route.ts';

export function registerAiRoutes(app: FastifyInstance, ai: AiService): void {
  void app.register(async (scope) => {
    // body-parse failures on these routes answer in OpenAI's error shape too
    scope.setErrorHandler((err: FastifyError, _req, reply) => sendOpenAiError(reply, err));
    scope.post('/v1/chat/completions', (req, reply) => handleChatCompletions(ai, req, reply));
    scope.post('/v1/responses', (req, reply) => handleResponses(ai, req, reply));
    scope.post('/v1/embeddings', (req, reply) => handleEmbeddings(ai, req, reply));
    scope.get('/v1/models', (req, reply) => handleModels(ai, req, reply));
    scope.get('/v1/models/*', (req, reply) => handleModel(ai, req, reply));
  });
}
