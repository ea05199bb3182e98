// POST /v1/chat/completions: OpenAI's chat API, non-stream and SSE (with include_usage), tools.
import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RunService } from '../run-service.ts';
import { usageToOpenAi, type ChatChunk, type ChatMessage, type ToolDef } from '../providers/provider.ts';
import { executeChat, SESSION_HEADER, type ChatJob } from './chat-executor.ts';
import { sendOpenAiError, sseErrorFrame } from './openai-error.ts';
import { ChatBodySchema, PASSTHROUGH_FIELDS, parseOpenAiBody, type ChatBody } from './openai-schemas.ts';
import { SseSink } from './sse-sink.ts';

export function chatJobOf(body: ChatBody): ChatJob {
  const extra: Record<string, unknown> = {};
  for (const f of PASSTHROUGH_FIELDS) if (body[f] !== undefined && body[f] !== null) extra[f] = body[f];
  const maxTokens = body.max_completion_tokens ?? body.max_tokens ?? undefined;
  const job: ChatJob = {
    model: body.model,
    messages: body.messages as ChatMessage[],
    options: {
      ...(body.temperature === undefined || body.temperature === null ? {} : { temperature: body.temperature }),
      ...(body.top_p === undefined || body.top_p === null ? {} : { top_p: body.top_p }),
      ...(maxTokens === undefined ? {} : { max_tokens: maxTokens }),
      ...(body.stop === undefined || body.stop === null ? {} : { stop: body.stop }),
      ...(body.tool_choice === undefined ? {} : { tool_choice: body.tool_choice }),
    },
    extra,
  };
  if (body.tools !== undefined) job.tools = body.tools as ToolDef[];
  if (body.user !== undefined) job.user = body.user;
  return job;
}

export async function handleChatCompletions(runs: RunService, req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  const id = `chatcmpl-${randomUUID().replace(/-/g, '')}`;
  const created = Math.floor(Date.now() / 1000);
  let sink: SseSink | undefined;
  try {
    const body = parseOpenAiBody(ChatBodySchema, req.body);
    const job = chatJobOf(body);
    const onSession = (sid: string): void => void reply.header(SESSION_HEADER, sid);
    if (body.stream !== true) {
      const r = await executeChat({ req, reply, runs }, job, { sessionHeader: req.headers[SESSION_HEADER], onSession });
      const message: Record<string, unknown> = { role: 'assistant', content: r.content, refusal: null };
      if (r.toolCalls.length > 0) message['tool_calls'] = r.toolCalls;
      return reply.send({
        id,
        object: 'chat.completion',
        created,
        model: body.model,
        choices: [{ index: 0, message, logprobs: null, finish_reason: r.finishReason }],
        usage: usageToOpenAi(r.usage),
        system_fingerprint: null,
      });
    }
    const s = new SseSink(reply);
    sink = s;
    const base = { id, object: 'chat.completion.chunk', created, model: body.model, system_fingerprint: null };
    let sentRole = false;
    const frame = (delta: Record<string, unknown>, finish: string | null): void => {
      s.send({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] });
    };
    const onChunk = (c: ChatChunk): void => {
      if (!sentRole) {
        sentRole = true;
        frame({ role: 'assistant', content: '' }, null);
      }
      if (c.content !== undefined) frame({ content: c.content }, null);
      if (c.toolCalls !== undefined && c.toolCalls.length > 0) {
        frame(
          {
            tool_calls: c.toolCalls.map((tc) => ({
              index: tc.index,
              ...(tc.id === undefined ? {} : { id: tc.id, type: 'function' }),
              function: { ...(tc.name === undefined ? {} : { name: tc.name }), arguments: tc.arguments ?? '' },
            })),
          },
          null,
        );
      }
    };
    const r = await executeChat({ req, reply, runs }, job, { sessionHeader: req.headers[SESSION_HEADER], onSession, onChunk });
    if (!sentRole) frame({ role: 'assistant', content: '' }, null);
    frame({}, r.finishReason);
    if (body.stream_options?.include_usage === true) s.send({ ...base, choices: [], usage: usageToOpenAi(r.usage) });
    s.send('[DONE]');
    s.end();
    return reply;
  } catch (err) {
    if (sink?.isStarted === true) {
      // headers are gone: the error travels as a final frame, as OpenAI does
      sink.raw(sseErrorFrame(err));
      sink.end();
      if (!reply.raw.destroyed) req.log.warn({ code: (err as { code?: string }).code }, 'stream ended with an error');
      return reply;
    }
    return sendOpenAiError(reply, err);
  }
}
