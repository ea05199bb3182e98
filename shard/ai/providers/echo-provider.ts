// The built-in `echo` model: no network, deterministic, streams too. It answers "echo: <last user
// text>" and counts one token per whitespace-separated word (docs/tenant-api.md).
import { createHash } from 'node:crypto';
import { textOf, type ChatChunk, type ChatMessage, type ChatRequest, type ChatResult, type EmbedRequest, type EmbedResult, type Provider } from './provider.ts';

export function echoTokens(text: string): number {
  const t = text.trim();
  return t === '' ? 0 : t.split(/\s+/).length;
}

function messageTokens(m: ChatMessage): number {
  let n = echoTokens(textOf(m.content));
  for (const tc of m.tool_calls ?? []) n += echoTokens(`${tc.function.name} ${tc.function.arguments}`);
  return n;
}

/** Input tokens of a request under the echo count (also the quota's pre-call estimate for echo). */
export function echoInputTokens(messages: ChatMessage[]): number {
  return Math.max(1, messages.reduce((n, m) => n + messageTokens(m), 0));
}

const TOOL_TRIGGER = /^\/tool\s+([A-Za-z0-9_.-]+)\s*(.*)$/s;

function answer(req: ChatRequest): ChatResult {
  const input = echoInputTokens(req.messages);
  const last = req.messages[req.messages.length - 1];
  if (last?.role === 'tool') {
    const text = `echo: tool returned: ${textOf(last.content)}`;
    return truncate(text, req.max_tokens, input);
  }
  const lastUser = [...req.messages].reverse().find((m) => m.role === 'user');
  const userText = lastUser === undefined ? '' : textOf(lastUser.content);
  const trig = TOOL_TRIGGER.exec(userText.trim());
  const tool = trig === null ? undefined : req.tools?.find((t) => t.function.name === trig[1]);
  if (trig !== null && tool !== undefined) {
    const rest = (trig[2] ?? '').trim();
    let args = JSON.stringify({ input: rest });
    if (rest.startsWith('{')) {
      try {
        const j = JSON.parse(rest) as unknown;
        if (typeof j === 'object' && j !== null && !Array.isArray(j)) args = JSON.stringify(j);
      } catch {
        // not JSON: passed as {input}
      }
    }
    const id = `call_echo_${createHash('sha256').update(userText).digest('hex').slice(0, 12)}`;
    return {
      content: null,
      toolCalls: [{ id, type: 'function', function: { name: tool.function.name, arguments: args } }],
      finishReason: 'tool_calls',
      usage: { input, output: echoTokens(`${tool.function.name} ${args}`), cacheRead: 0, cacheWrite: 0, reasoning: 0 },
    };
  }
  return truncate(`echo: ${userText}`, req.max_tokens, input);
}

function truncate(text: string, maxTokens: number | undefined, input: number): ChatResult {
  const words = text.trim().split(/\s+/);
  const cut = maxTokens !== undefined && words.length > maxTokens;
  const kept = cut ? words.slice(0, maxTokens) : words;
  return {
    content: kept.join(' '),
    toolCalls: [],
    finishReason: cut ? 'length' : 'stop',
    usage: { input, output: kept.length, cacheRead: 0, cacheWrite: 0, reasoning: 0 },
  };
}

export class EchoProvider implements Provider {
  readonly name = 'echo';

  chat(req: ChatRequest, signal: AbortSignal): Promise<ChatResult> {
    if (signal.aborted) return Promise.reject(signal.reason as Error);
    return Promise.resolve(answer(req));
  }

  async *chatStream(req: ChatRequest, signal: AbortSignal): AsyncGenerator<ChatChunk> {
    const r = answer(req);
    if (r.toolCalls.length > 0) {
      const tc = r.toolCalls[0];
      if (tc !== undefined) yield { toolCalls: [{ index: 0, id: tc.id, name: tc.function.name, arguments: tc.function.arguments }] };
    } else {
      const words = (r.content ?? '').split(' ');
      for (let i = 0; i < words.length; i++) {
        if (signal.aborted) throw signal.reason as Error;
        yield { content: i === 0 ? (words[i] ?? '') : ` ${words[i] ?? ''}` };
        // let the event loop breathe so aborts and back-pressure are observable mid-stream
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    yield { finishReason: r.finishReason, usage: r.usage };
  }

  embed(req: EmbedRequest, signal: AbortSignal): Promise<EmbedResult> {
    if (signal.aborted) return Promise.reject(signal.reason as Error);
    const dims = req.dimensions ?? 16;
    const vectors = req.input.map((text) => {
      const v: number[] = [];
      for (let i = 0; v.length < dims; i++) {
        const h = createHash('sha256').update(`${i}:${text}`).digest();
        for (let k = 0; k + 1 < h.length && v.length < dims; k += 2) v.push((h.readUInt16BE(k) / 65535) * 2 - 1);
      }
      const norm = Math.hypot(...v) || 1;
      return v.map((x) => x / norm);
    });
    const input = req.input.reduce((n, t) => n + echoTokens(t), 0);
    return Promise.resolve({ vectors, usage: { input, output: 0, cacheRead: 0, cacheWrite: 0, reasoning: 0 } });
  }
}
