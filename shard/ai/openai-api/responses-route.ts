// POST /v1/responses: OpenAI's Responses API over the same chat pipeline (text, function tools,
// function_call_output items), non-stream and SSE with the Responses event sequence.
import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../../router/errors/app-error.ts';
import type { RunService } from '../run-service.ts';
import type { ChatChunk, ChatMessage, ContentPart, ToolDef, Usage } from '../providers/provider.ts';
import { executeChat, SESSION_HEADER, type ChatJob, type ChatOutcome } from './chat-executor.ts';
import { sendOpenAiError } from './openai-error.ts';
import { parseOpenAiBody, ResponsesBodySchema, type ResponsesBody } from './openai-schemas.ts';
import { SseSink } from './sse-sink.ts';

function partsOf(content: unknown): string | ContentPart[] {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  const out: ContentPart[] = [];
  for (const p of content as Record<string, unknown>[]) {
    if ((p['type'] === 'input_text' || p['type'] === 'output_text' || p['type'] === 'text') && typeof p['text'] === 'string') out.push({ type: 'text', text: p['text'] });
    else if (p['type'] === 'input_image' && typeof p['image_url'] === 'string') out.push({ type: 'image_url', image_url: { url: p['image_url'] } });
  }
  return out;
}

export function responsesJobOf(body: ResponsesBody): ChatJob {
  const messages: ChatMessage[] = [];
  if (body.instructions !== undefined && body.instructions !== null) messages.push({ role: 'system', content: body.instructions });
  if (typeof body.input === 'string') messages.push({ role: 'user', content: body.input });
  else {
    for (const item of body.input as Record<string, unknown>[]) {
      const type = item['type'] ?? 'message';
      if (type === 'message') {
        const role = item['role'];
        if (role !== 'user' && role !== 'assistant' && role !== 'system' && role !== 'developer') throw new AppError('VALIDATION_FAILED', { message: 'Invalid request: input item role', details: { field: 'input.role' } });
        messages.push({ role, content: partsOf(item['content']) });
      } else if (type === 'function_call') {
        const tc = { id: String(item['call_id'] ?? ''), type: 'function' as const, function: { name: String(item['name'] ?? ''), arguments: String(item['arguments'] ?? '') } };
        const last = messages[messages.length - 1];
        if (last?.role === 'assistant' && last.tool_calls !== undefined) last.tool_calls.push(tc);
        else messages.push({ role: 'assistant', content: null, tool_calls: [tc] });
      } else if (type === 'function_call_output') {
        const out = item['output'];
        messages.push({ role: 'tool', tool_call_id: String(item['call_id'] ?? ''), content: typeof out === 'string' ? out : JSON.stringify(out) });
      } else {
        throw new AppError('VALIDATION_FAILED', { message: `Invalid request: input items of type '${String(type).slice(0, 50)}' are not supported.`, details: { field: 'input.type' } });
      }
    }
  }
  const tools: ToolDef[] = [];
  for (const t of body.tools ?? []) {
    if (t.type !== 'function' || t.name === undefined) throw new AppError('VALIDATION_FAILED', { message: `Invalid request: only function tools are supported (got '${t.type.slice(0, 50)}').`, details: { field: 'tools.type' } });
    tools.push({ type: 'function', function: { name: t.name, ...(t.description === undefined ? {} : { description: t.description }), ...(t.parameters === undefined || t.parameters === null ? {} : { parameters: t.parameters }) } });
  }
  let toolChoice: unknown;
  const tc = body.tool_choice as { type?: string; name?: string } | string | undefined;
  if (typeof tc === 'string') toolChoice = tc;
  else if (tc?.type === 'function' && typeof tc.name === 'string') toolChoice = { type: 'function', function: { name: tc.name } };
  const job: ChatJob = {
    model: body.model,
    messages,
    options: {
      ...(body.temperature === undefined || body.temperature === null ? {} : { temperature: body.temperature }),
      ...(body.top_p === undefined || body.top_p === null ? {} : { top_p: body.top_p }),
      ...(body.max_output_tokens === undefined || body.max_output_tokens === null ? {} : { max_tokens: body.max_output_tokens }),
      ...(toolChoice === undefined ? {} : { tool_choice: toolChoice }),
    },
  };
  if (tools.length > 0) job.tools = tools;
  if (body.user !== undefined) job.user = body.user;
  return job;
}

function usageOf(u: Usage): Record<string, unknown> {
  const input = u.input + u.cacheRead + u.cacheWrite;
  const output = u.output + u.reasoning;
  return { input_tokens: input, input_tokens_details: { cached_tokens: u.cacheRead }, output_tokens: output, output_tokens_details: { reasoning_tokens: u.reasoning }, total_tokens: input + output };
}

interface Ids {
  id: string;
  msgId: string;
  createdAt: number;
}

function outputItems(r: Pick<ChatOutcome, 'content' | 'toolCalls'>, ids: Ids): Record<string, unknown>[] {
  const items: Record<string, unknown>[] = [];
  if (r.content !== null && r.content !== '') {
    items.push({ type: 'message', id: ids.msgId, status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: r.content, annotations: [] }] });
  }
  for (const tc of r.toolCalls) items.push({ type: 'function_call', id: `fc_${tc.id}`, call_id: tc.id, name: tc.function.name, arguments: tc.function.arguments, status: 'completed' });
  return items;
}

function responseObject(body: ResponsesBody, ids: Ids, status: string, r: ChatOutcome | null): Record<string, unknown> {
  const output = r === null ? [] : outputItems(r, ids);
  return {
    id: ids.id,
    object: 'response',
    created_at: ids.createdAt,
    status,
    error: null,
    incomplete_details: r !== null && r.finishReason === 'length' ? { reason: 'max_output_tokens' } : null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    model: body.model,
    output,
    output_text: r?.content ?? '',
    parallel_tool_calls: true,
    previous_response_id: null,
    temperature: body.temperature ?? 1,
    text: { format: { type: 'text' } },
    tool_choice: body.tool_choice ?? 'auto',
    tools: body.tools ?? [],
    top_p: body.top_p ?? 1,
    truncation: 'disabled',
    usage: r === null ? null : usageOf(r.usage),
    metadata: {},
  };
}

export async function handleResponses(runs: RunService, req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  const hex = randomUUID().replace(/-/g, '');
  const ids: Ids = { id: `resp_${hex}`, msgId: `msg_${hex}`, createdAt: Math.floor(Date.now() / 1000) };
  let sink: SseSink | undefined;
  try {
    const body = parseOpenAiBody(ResponsesBodySchema, req.body);
    const job = responsesJobOf(body);
    const onSession = (sid: string): void => void reply.header(SESSION_HEADER, sid);
    if (body.stream !== true) {
      const r = await executeChat({ req, reply, runs }, job, { sessionHeader: req.headers[SESSION_HEADER], onSession });
      return reply.send(responseObject(body, ids, r.finishReason === 'length' ? 'incomplete' : 'completed', r));
    }
    const s = new SseSink(reply);
    sink = s;
    let seq = 0;
    const ev = (type: string, data: Record<string, unknown>): void => s.send({ type, sequence_number: seq++, ...data }, type);
    let text = '';
    let opened = false;
    const openText = (): void => {
      if (opened) return;
      opened = true;
      ev('response.output_item.added', { output_index: 0, item: { type: 'message', id: ids.msgId, status: 'in_progress', role: 'assistant', content: [] } });
      ev('response.content_part.added', { item_id: ids.msgId, output_index: 0, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } });
    };
    const onChunk = (c: ChatChunk): void => {
      if (seq === 0) {
        ev('response.created', { response: responseObject(body, ids, 'in_progress', null) });
        ev('response.in_progress', { response: responseObject(body, ids, 'in_progress', null) });
      }
      if (c.content !== undefined && c.content !== '') {
        openText();
        text += c.content;
        ev('response.output_text.delta', { item_id: ids.msgId, output_index: 0, content_index: 0, delta: c.content, logprobs: [] });
      }
    };
    const r = await executeChat({ req, reply, runs }, job, { sessionHeader: req.headers[SESSION_HEADER], onSession, onChunk });
    if (seq === 0) onChunk({});
    let index = 0;
    if (opened) {
      ev('response.output_text.done', { item_id: ids.msgId, output_index: 0, content_index: 0, text, logprobs: [] });
      ev('response.content_part.done', { item_id: ids.msgId, output_index: 0, content_index: 0, part: { type: 'output_text', text, annotations: [] } });
      ev('response.output_item.done', { output_index: 0, item: { type: 'message', id: ids.msgId, status: 'completed', role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] } });
      index = 1;
    }
    for (const tc of r.toolCalls) {
      const item = { type: 'function_call', id: `fc_${tc.id}`, call_id: tc.id, name: tc.function.name, arguments: '', status: 'in_progress' };
      ev('response.output_item.added', { output_index: index, item });
      ev('response.function_call_arguments.delta', { item_id: item.id, output_index: index, delta: tc.function.arguments });
      ev('response.function_call_arguments.done', { item_id: item.id, output_index: index, arguments: tc.function.arguments });
      ev('response.output_item.done', { output_index: index, item: { ...item, arguments: tc.function.arguments, status: 'completed' } });
      index++;
    }
    ev('response.completed', { response: responseObject(body, ids, r.finishReason === 'length' ? 'incomplete' : 'completed', { ...r, content: opened ? text : r.content }) });
    s.end();
    return reply;
  } catch (err) {
    if (sink?.isStarted === true) {
      const e = err instanceof AppError ? err : new AppError('INTERNAL', { cause: err });
      sink.send({ type: 'error', code: e.code, message: e.message, param: null }, 'error');
      sink.end();
      return reply;
    }
    return sendOpenAiError(reply, err);
  }
}
