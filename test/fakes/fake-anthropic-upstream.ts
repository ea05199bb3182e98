// A fake Anthropic Messages API (non-stream and SSE with the real event sequence, tool_use,
// cache usage) on a real local HTTP server. Deterministic: it answers "fake: <last user text>".
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { FakeServerBase, textOfContent, words, writeSse, type Handler } from './fake-upstream-base.ts';

export interface FakeAnthropicOptions {
  apiKey?: string;
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
}

interface Block {
  type: string;
  text?: string;
  content?: unknown;
  name?: string;
  input?: unknown;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function blocksOf(c: unknown): Block[] {
  return typeof c === 'string' ? [{ type: 'text', text: c }] : Array.isArray(c) ? (c as Block[]) : [];
}

export class FakeAnthropicUpstream extends FakeServerBase {
  readonly options: FakeAnthropicOptions;

  private constructor(options: FakeAnthropicOptions) {
    const routes = new Map<string, Handler>();
    super(routes);
    this.options = options;
    routes.set('POST /v1/messages', async (req, res) => {
      if (this.options.apiKey !== undefined && req.headers['x-api-key'] !== this.options.apiKey) {
        json(res, 401, { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } });
        return;
      }
      if (typeof req.headers['anthropic-version'] !== 'string') {
        json(res, 400, { type: 'error', error: { type: 'invalid_request_error', message: 'anthropic-version header is required' } });
        return;
      }
      const b = req.body;
      if (typeof b['max_tokens'] !== 'number' || !Array.isArray(b['messages'])) {
        json(res, 400, { type: 'error', error: { type: 'invalid_request_error', message: 'max_tokens and messages are required' } });
        return;
      }
      const messages = b['messages'] as { role: string; content: unknown }[];
      const system = typeof b['system'] === 'string' ? b['system'] : textOfContent(b['system']);
      let prompt = words(system);
      for (const m of messages) for (const bl of blocksOf(m.content)) prompt += words(bl.text ?? textOfContent(bl.content) ?? '') + (bl.type === 'tool_use' ? words(`${bl.name ?? ''} ${JSON.stringify(bl.input ?? {})}`) : 0);
      prompt = Math.max(1, prompt);
      const last = messages[messages.length - 1];
      const lastBlocks = blocksOf(last?.content);
      const toolResult = lastBlocks.find((bl) => bl.type === 'tool_result');
      const lastUserText = [...messages].reverse().find((m) => m.role === 'user' && blocksOf(m.content).some((bl) => bl.type === 'text'));
      const userText = blocksOf(lastUserText?.content).filter((bl) => bl.type === 'text').map((bl) => bl.text ?? '').join('');
      const tools = (Array.isArray(b['tools']) ? b['tools'] : []) as { name: string }[];
      const choice = b['tool_choice'] as { type?: string } | undefined;
      let text: string | null = null;
      let tool: { id: string; name: string; input: unknown } | null = null;
      if (toolResult !== undefined) text = `fake: tool said ${textOfContent(toolResult.content)}`;
      else if (tools.length > 0 && choice?.type !== 'none') tool = { id: `toolu_${createHash('sha256').update(userText).digest('hex').slice(0, 16)}`, name: tools[0]?.name ?? 'tool', input: { q: userText } };
      else text = `fake: ${userText}`;
      let out = text === null ? [] : text.split(' ');
      let stop = tool === null ? 'end_turn' : 'tool_use';
      if (out.length > b['max_tokens']) {
        out = out.slice(0, b['max_tokens']);
        stop = 'max_tokens';
      }
      const outTokens = tool === null ? out.length : words(`${tool.name} ${JSON.stringify(tool.input)}`);
      const usage = {
        input_tokens: prompt,
        output_tokens: outTokens,
        cache_read_input_tokens: this.options.cacheReadTokens ?? 0,
        cache_creation_input_tokens: this.options.cacheWriteTokens ?? 0,
      };
      const id = `msg_fake${this.requests.length}`;
      const model = String(b['model']);
      if (b['stream'] !== true) {
        const content: unknown[] = [];
        if (text !== null) content.push({ type: 'text', text: out.join(' ') });
        if (tool !== null) content.push({ type: 'tool_use', id: tool.id, name: tool.name, input: tool.input });
        json(res, 200, { id, type: 'message', role: 'assistant', model, content, stop_reason: stop, stop_sequence: null, usage });
        return;
      }
      const ev = (type: string, data: Record<string, unknown>, content = false) => ({ event: type, data: JSON.stringify({ type, ...data }), content });
      const frames = [ev('message_start', { message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } } }), ev('ping', {})];
      if (tool !== null) {
        frames.push(ev('content_block_start', { index: 0, content_block: { type: 'tool_use', id: tool.id, name: tool.name, input: {} } }, true));
        const a = JSON.stringify(tool.input);
        const half = Math.floor(a.length / 2);
        frames.push(ev('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: a.slice(0, half) } }, true));
        frames.push(ev('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: a.slice(half) } }, true));
      } else {
        frames.push(ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }));
        out.forEach((w, i) => frames.push(ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: i === 0 ? w : ` ${w}` } }, true)));
      }
      frames.push(ev('content_block_stop', { index: 0 }));
      frames.push(ev('message_delta', { delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: outTokens } }));
      frames.push(ev('message_stop', {}));
      await writeSse(res, this, frames);
    });
  }

  static async start(options: FakeAnthropicOptions = {}): Promise<FakeAnthropicUpstream> {
    const f = new FakeAnthropicUpstream(options);
    await f.listen();
    return f;
  }
}
