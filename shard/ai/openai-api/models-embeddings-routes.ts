// GET /v1/models (built-in echo, aliases, provider models, this tenant's agents) and POST /v1/embeddings.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../../router/errors/app-error.ts';
import { tenantOf } from '../../http/tenant-request.ts';
import { listAgents } from '../agents/agent-store.ts';
import type { AiService } from '../ai-service.ts';
import { sendOpenAiError } from './openai-error.ts';
import { EmbeddingsBodySchema, parseOpenAiBody } from './openai-schemas.ts';
import { assertWithinBound, embeddingsBound, embeddingsBoundOf } from '../../limits/response-bounds.ts';

export async function handleModels(ai: AiService, req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  try {
    const tenant = await tenantOf(req);
    const data = ai.registry.list().map((m) => ({ id: m.id, object: 'model', created: 0, owned_by: m.owned_by, ...(m.description === undefined ? {} : { description: m.description }) }));
    for (const a of listAgents(tenant.stateDb())) data.push({ id: `agent:${a.name}`, object: 'model', created: Math.floor(Date.parse(a.createdAt) / 1000), owned_by: 'tenant-agent' });
    return reply.send({ object: 'list', data });
  } catch (err) {
    return sendOpenAiError(reply, err);
  }
}

/** GET /v1/models/<id> (ids may contain '/', e.g. openai/gpt-4o-mini). */
export async function handleModel(ai: AiService, req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  try {
    const tenant = await tenantOf(req);
    const id = decodeURIComponent((req.params as { '*'?: string })['*'] ?? '');
    if (id.startsWith('agent:')) {
      const a = listAgents(tenant.stateDb()).find((x) => `agent:${x.name}` === id);
      if (a !== undefined) return reply.send({ id, object: 'model', created: Math.floor(Date.parse(a.createdAt) / 1000), owned_by: 'tenant-agent' });
    } else {
      const listed = ai.registry.list().find((m) => m.id === id);
      const resolved = ai.registry.resolve(id); // throws AI_MODEL_NOT_FOUND
      return reply.send({ id, object: 'model', created: 0, owned_by: listed?.owned_by ?? resolved.provider.name });
    }
    throw new AppError('AI_MODEL_NOT_FOUND', { message: `The model '${id.slice(0, 200)}' does not exist.`, details: { model: id.slice(0, 200) } });
  } catch (err) {
    return sendOpenAiError(reply, err);
  }
}

function toBase64(v: number[]): string {
  const f = new Float32Array(v);
  return Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString('base64');
}

export async function handleEmbeddings(ai: AiService, req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  try {
    const tenant = await tenantOf(req);
    const body = parseOpenAiBody(EmbeddingsBodySchema, req.body);
    const input = typeof body.input === 'string' ? [body.input] : body.input;
    const max = req.server.shard.config.limits.responseMaxBytes;
    const hint = 'send fewer inputs per request, ask for fewer dimensions, or use encoding_format: base64';
    assertWithinBound('/v1/embeddings', embeddingsBound({ inputs: input.length, dimensions: body.dimensions, encoding: body.encoding_format }), max, hint);
    ai.registry.resolve(body.model);
    const gate = ai.gateOf(tenant);
    const slot = gate.admitRequest(tenant.record().quota, null);
    const abort = new AbortController();
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) abort.abort();
    });
    try {
      const r = await ai.embed(tenant, body.model, input, body.dimensions, String(req.id), abort.signal);
      // without `dimensions` the upstream chose the size: check what came back before serialising it
      assertWithinBound('/v1/embeddings', embeddingsBoundOf(r.vectors, body.encoding_format), max, hint);
      const prompt = r.usage.input + r.usage.cacheRead + r.usage.cacheWrite;
      return reply.send({
        object: 'list',
        model: body.model,
        data: r.vectors.map((v, index) => ({ object: 'embedding', index, embedding: body.encoding_format === 'base64' ? toBase64(v) : v })),
        usage: { prompt_tokens: prompt, total_tokens: prompt },
      });
    } finally {
      gate.releaseRequest(slot);
    }
  } catch (err) {
    return sendOpenAiError(reply, err);
  }
}
