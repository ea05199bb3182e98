// Pure translation between the OpenAI chat shape and Anthropic's Messages API, both directions,
// streaming events included.
import { AppError } from '../../../router/errors/app-error.ts';
import { safeUpstreamText } from './provider-secrets.ts';
import { textOf, type ChatChunk, type ChatMessage, type ChatRequest, type ChatResult, type FinishReason, type ToolCall, type Usage } from './provider.ts';

type Block = Record<string, unknown>;
interface AnthropicMessage {
  role: 'user' | 'assistant';
  content: Block[];
}

function partsToBlocks(content: ChatMessage['content']): Block[] {
  if (content === null) return [];
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  const out: Block[] = [];
  for (const p of content) {
    if (p.type === 'text' && typeof p['text'] === 'string') out.push({ type: 'text', text: p['text'] });
    else if (p.type === 'image_url') {
      const iu = p['image_url'] as { url?: unknown } | string | undefined;
      const url = typeof iu === 'string' ? iu : typeof iu?.url === 'string' ? iu.url : '';
      const m = /^data:([^;,]+);base64,(.*)$/s.exec(url);
      if (m !== null) out.push({ type: 'image', source: { type: 'base64', media_type: m[1], data: m[2] } });
      else if (url !== '') out.push({ type: 'image', source: { type: 'url', url } });
    }
  }
  return out;
}

function parseArgs(args: string): unknown {
  if (args.trim() === '') return {};
  try {
    return JSON.parse(args) as unknown;
  } catch {
    throw new AppError('VALIDATION_FAILED', { message: 'A tool call has arguments that are not JSON.', details: { field: 'messages.tool_calls.function.arguments' } });
  }
}

function toolChoiceOf(tc: unknown): Block | undefined {
  if (tc === undefined || tc === null) return undefined;
  if (tc === 'auto') return { type: 'auto' };
  if (tc === 'required') return { type: 'any' };
  if (tc === 'none') return { type: 'none' };
  if (typeof tc === 'object') {
    const name = (tc as { function?: { name?: unknown } }).function?.name;
    if (typeof name === 'string') return { type: 'tool', name };
  }
  return undefined;
}

/** OpenAI chat request → Anthropic Messages body. */
export function toAnthropicBody(req: ChatRequest, defaultMaxTokens: number, stream: boolean): Record<string, unknown> {
  const system: string[] = [];
  const messages: AnthropicMessage[] = [];
  const push = (role: 'user' | 'assistant', blocks: Block[]): void => {
    if (blocks.length === 0) return;
    const last = messages[messages.length - 1];
    if (last !== undefined && last.role === role) last.content.push(...blocks);
    else messages.push({ role, content: blocks });
  };
  for (const m of req.messages) {
    switch (m.role) {
      case 'system':
      case 'developer':
        system.push(textOf(m.content));
        break;
      case 'user':
        push('user', partsToBlocks(m.content));
        break;
      case 'assistant': {
        const blocks = partsToBlocks(m.content);
        for (const tc of m.tool_calls ?? []) blocks.push({ type: 'tool_use', id: tc.id, name: tc.function.name, input: parseArgs(tc.function.arguments) });
        push('assistant', blocks);
        break;
      }
      case 'tool':
        push('user', [{ type: 'tool_result', tool_use_id: m.tool_call_id ?? '', content: textOf(m.content) }]);
        break;
    }
  }
  const body: Record<string, unknown> = { model: req.model, max_tokens: req.max_tokens ?? defaultMaxTokens, messages };
  if (system.length > 0) body['system'] = system.join('\n\n');
  if (req.temperature !== undefined) body['temperature'] = Math.min(1, req.temperature);
  if (req.top_p !== undefined) body['top_p'] = req.top_p;
  if (req.stop !== undefined) body['stop_sequences'] = Array.isArray(req.stop) ? req.stop : [req.stop];
  if (req.tools !== undefined && req.tools.length > 0) {
    body['tools'] = req.tools.map((t) => ({
      name: t.function.name,
      ...(t.function.description === undefined ? {} : { description: t.function.description }),
      input_schema: t.function.parameters ?? { type: 'object', properties: {} },
    }));
  }
  const choice = toolChoiceOf(req.tool_choice);
  if (choice !== undefined) body['tool_choice'] = choice;
  if (stream) body['stream'] = true;
  return body;
}

export function finishFromAnthropic(stop: unknown): FinishReason {
  switch (stop) {
    case 'max_tokens':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default:
      return 'stop';
  }
}

export function usageFromAnthropic(u: unknown): Usage {
  const o = (typeof u === 'object' && u !== null ? u : {}) as Record<string, unknown>;
  const n = (v: unknown): number => (typeof v === 'number' && v > 0 ? Math.floor(v) : 0);
  return {
    input: n(o['input_tokens']),
    output: n(o['output_tokens']),
    cacheRead: n(o['cache_read_input_tokens']),
    cacheWrite: n(o['cache_creation_input_tokens']),
    reasoning: 0,
  };
}

/** Anthropic Messages response → normalised chat result. */
export function fromAnthropicResponse(j: Record<string, unknown>): ChatResult {
  const blocks = Array.isArray(j['content']) ? (j['content'] as Block[]) : [];
  let text = '';
  let sawText = false;
  const toolCalls: ToolCall[] = [];
  for (const b of blocks) {
    if (b['type'] === 'text' && typeof b['text'] === 'string') {
      text += b['text'];
      sawText = true;
    } else if (b['type'] === 'tool_use') {
      toolCalls.push({ id: String(b['id']), type: 'function', function: { name: String(b['name']), arguments: JSON.stringify(b['input'] ?? {}) } });
    }
  }
  return { content: sawText ? text : null, toolCalls, finishReason: finishFromAnthropic(j['stop_reason']), usage: usageFromAnthropic(j['usage']) };
}

/** Stateful mapper of Anthropic stream events onto OpenAI-shaped chunks. */
export class AnthropicStreamMapper {
  private usage: Usage = { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, reasoning: 0 };
  private finish: FinishReason = 'stop';
  private readonly toolIndexOfBlock = new Map<number, number>();
  private tools = 0;
  private readonly secrets: readonly string[];

  /** `secrets`: the provider's key and header values, redacted from an upstream error event. */
  constructor(secrets: readonly string[] = []) {
    this.secrets = secrets;
  }

  /** Returns the chunks for one event; throws on an `error` event. */
  map(type: string, j: Record<string, unknown>): ChatChunk[] {
    switch (type) {
      case 'message_start': {
        const msg = (j['message'] ?? {}) as Record<string, unknown>;
        this.usage = usageFromAnthropic(msg['usage']);
        return [];
      }
      case 'content_block_start': {
        const block = (j['content_block'] ?? {}) as Block;
        const index = Number(j['index']);
        if (block['type'] === 'tool_use') {
          const ti = this.tools++;
          this.toolIndexOfBlock.set(index, ti);
          return [{ toolCalls: [{ index: ti, id: String(block['id']), name: String(block['name']), arguments: '' }] }];
        }
        if (block['type'] === 'text' && typeof block['text'] === 'string' && block['text'] !== '') return [{ content: block['text'] }];
        return [];
      }
      case 'content_block_delta': {
        const d = (j['delta'] ?? {}) as Block;
        if (d['type'] === 'text_delta' && typeof d['text'] === 'string') return [{ content: d['text'] }];
        if (d['type'] === 'input_json_delta' && typeof d['partial_json'] === 'string') {
          const ti = this.toolIndexOfBlock.get(Number(j['index']));
          return ti === undefined ? [] : [{ toolCalls: [{ index: ti, arguments: d['partial_json'] }] }];
        }
        return [];
      }
      case 'message_delta': {
        const d = (j['delta'] ?? {}) as Block;
        if (d['stop_reason'] !== undefined && d['stop_reason'] !== null) this.finish = finishFromAnthropic(d['stop_reason']);
        const u = usageFromAnthropic(j['usage']);
        // message_delta usage is cumulative; keep the larger of what we know
        this.usage = {
          input: Math.max(this.usage.input, u.input),
          output: Math.max(this.usage.output, u.output),
          cacheRead: Math.max(this.usage.cacheRead, u.cacheRead),
          cacheWrite: Math.max(this.usage.cacheWrite, u.cacheWrite),
          reasoning: 0,
        };
        return [];
      }
      case 'message_stop':
        return [{ finishReason: this.finish, usage: this.usage }];
      case 'error': {
        const e = (j['error'] ?? {}) as Record<string, unknown>;
        throw new AppError('AI_PROVIDER_ERROR', {
          message: `The model provider failed mid-stream: ${typeof e['message'] === 'string' ? safeUpstreamText(e['message'], this.secrets, 300) : 'error'}`,
          details: { upstreamType: typeof e['type'] === 'string' ? e['type'] : 'error' },
        });
      }
      default:
        return []; // ping and future event types
    }
  }
}
