// A fake OpenAI API (chat completions incl. SSE and tool calls, embeddings, models) on a real
// local HTTP server, for tests and loadtests. Deterministic: it answers "fake: <last user text>".
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { FakeServerBase, textOfContent, words, writeSse, type Handler, type RecordedRequest } from './fake-upstream-base.ts';

export interface FakeOpenAiOptions {
  /** When set, requests must carry `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Reported as prompt_tokens_details.cached_tokens (capped at the prompt). */
  cachedTokens?: number;
  /** Added to completion_tokens and reported as completion_tokens_details.reasoning_tokens. */
  reasoningTokens?: number;
}

interface Msg {
  role: string;
  content?: unknown;
  tool_calls?: { function?: { name?: string; arguments?: string } }[];
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function plan(body: Record<string, unknown>, opts: FakeOpenAiOptions) {
  const messages = (Array.isArray(body['messages']) ? body['messages'] : []) as Msg[];
  const prompt = Math.max(
    1,
    messages.reduce((n, m) => n + words(textOfContent(m.content)) + (m.tool_calls ?? []).reduce((k, tc) => k + words(`${tc.function?.name ?? ''} ${tc.function?.arguments ?? ''}`), 0), 0),
  );
  const last = messages[messages.length - 1];
  const lastUser = [...messages].reverse().find((m) => m.role === 'user');
  const userText = textOfContent(lastUser?.content);
  const tools = (Array.isArray(body['tools']) ? body['tools'] : []) as { function?: { name?: string } }[];
  let content: string | null;
  let toolCall: { id: string; name: string; arguments: string } | null = null;
  if (last?.role === 'tool') content = `fake: tool said ${textOfContent(last.content)}`;
  else if (tools.length > 0 && body['tool_choice'] !== 'none') {
    const name = tools[0]?.function?.name ?? 'tool';
    toolCall = { id: `call_${createHash('sha256').update(userText).digest('hex').slice(0, 16)}`, name, arguments: JSON.stringify({ q: userText }) };
    content = null;
  } else content = `fake: ${userText}`;
  let out = content === null ? [] : content.split(' ');
  const max = typeof body['max_tokens'] === 'number' ? body['max_tokens'] : typeof body['max_completion_tokens'] === 'number' ? body['max_completion_tokens'] : undefined;
  let finish = toolCall === null ? 'stop' : 'tool_calls';
  if (max !== undefined && out.length > max) {
    out = out.slice(0, max);
    finish = 'length';
  }
  const completionWords = toolCall === null ? out.length : words(`${toolCall.name} ${toolCall.arguments}`);
  const reasoning = opts.reasoningTokens ?? 0;
  const cached = Math.min(prompt, opts.cachedTokens ?? 0);
  const usage = {
    prompt_tokens: prompt,
    completion_tokens: completionWords + reasoning,
    total_tokens: prompt + completionWords + reasoning,
    prompt_tokens_details: { cached_tokens: cached },
    completion_tokens_details: { reasoning_tokens: reasoning },
  };
  return { words: content === null ? null : out, toolCall, finish, usage, model: typeof body['model'] === 'string' ? body['model'] : 'fake' };
}

export class FakeOpenAiUpstream extends FakeServerBase {
  readonly options: FakeOpenAiOptions;

  private constructor(options: FakeOpenAiOptions) {
    const routes = new Map<string, Handler>();
    super(routes);
    this.options = options;
    const auth = (req: RecordedRequest, res: ServerResponse): boolean => {
      if (this.options.apiKey === undefined || req.headers['authorization'] === `Bearer ${this.options.apiKey}`) return true;
      json(res, 401, { error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } });
      return false;
    };
    routes.set('POST /v1/chat/completions', async (req, res) => {
      if (!auth(req, res)) return;
      const p = plan(req.body, this.options);
      const id = `chatcmpl-fake${this.requests.length}`;
      const created = Math.floor(Date.now() / 1000);
      if (req.body['stream'] !== true) {
        const message: Record<string, unknown> = { role: 'assistant', content: p.words === null ? null : p.words.join(' ') };
        if (p.toolCall !== null) message['tool_calls'] = [{ id: p.toolCall.id, type: 'function', function: { name: p.toolCall.name, arguments: p.toolCall.arguments } }];
        json(res, 200, { id, object: 'chat.completion', created, model: p.model, choices: [{ index: 0, message, finish_reason: p.finish, logprobs: null }], usage: p.usage });
        return;
      }
      const base = { id, object: 'chat.completion.chunk', created, model: p.model };
      const frames: { data: string; content?: boolean }[] = [{ data: JSON.stringify({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] }) }];
      if (p.toolCall !== null) {
        frames.push({ content: true, data: JSON.stringify({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: p.toolCall.id, type: 'function', function: { name: p.toolCall.name, arguments: '' } }] }, finish_reason: null }] }) });
        const a = p.toolCall.arguments;
        const half = Math.floor(a.length / 2);
        for (const part of [a.slice(0, half), a.slice(half)]) {
          frames.push({ content: true, data: JSON.stringify({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: part } }] }, finish_reason: null }] }) });
        }
      } else {
        (p.words ?? []).forEach((w, i) => {
          frames.push({ content: true, data: JSON.stringify({ ...base, choices: [{ index: 0, delta: { content: i === 0 ? w : ` ${w}` }, finish_reason: null }] }) });
        });
      }
      frames.push({ data: JSON.stringify({ ...base, choices: [{ index: 0, delta: {}, finish_reason: p.finish }] }) });
      const so = req.body['stream_options'] as { include_usage?: boolean } | undefined;
      if (so?.include_usage === true) frames.push({ data: JSON.stringify({ ...base, choices: [], usage: p.usage }) });
      frames.push({ data: '[DONE]' });
      await writeSse(res, this, frames);
    });
    routes.set('POST /v1/embeddings', (req, res) => {
      if (!auth(req, res)) return Promise.resolve();
      const input = req.body['input'];
      const list = Array.isArray(input) ? input.map(String) : [String(input)];
      const dims = typeof req.body['dimensions'] === 'number' ? req.body['dimensions'] : 8;
      const data = list.map((text, index) => {
        const h = createHash('sha256').update(text).digest();
        const embedding = Array.from({ length: dims }, (_, i) => ((h[i % h.length] ?? 0) - 128) / 128);
        return { object: 'embedding', index, embedding };
      });
      const tokens = list.reduce((n, t) => n + words(t), 0);
      json(res, 200, { object: 'list', data, model: req.body['model'], usage: { prompt_tokens: tokens, total_tokens: tokens } });
      return Promise.resolve();
    });
    routes.set('GET /v1/models', (_req, res) => {
      json(res, 200, { object: 'list', data: [{ id: 'gpt-fake', object: 'model', created: 0, owned_by: 'fake' }] });
      return Promise.resolve();
    });
  }

  static async start(options: FakeOpenAiOptions = {}): Promise<FakeOpenAiUpstream> {
    const f = new FakeOpenAiUpstream(options);
    await f.listen();
    return f;
  }

  /** The base URL an OpenAI client or provider config uses (`…/v1`). */
  get baseUrl(): string {
    return `${this.url}/v1`;
  }
}
