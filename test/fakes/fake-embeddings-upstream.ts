// A fake OpenAI-compatible embeddings upstream: POST /v1/embeddings on the real wire format.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';

export interface FakeEmbeddingsUpstream {
  /** Base URL including /v1. */
  readonly url: string;
  readonly apiKey: string;
  /** Every request body received, parsed. */
  readonly requests: { model: string; input: string[] }[];
  /** When set, the next requests answer this status with an OpenAI error body. */
  failWith: number | undefined;
  close(): Promise<void>;
}

/** A deterministic pseudo-embedding: bag of character trigrams hashed into `dim` buckets (not normalised). */
export function fakeVector(text: string, dim: number): number[] {
  const v: number[] = Array.from({ length: dim }, () => 0);
  const s = ` ${text.toLowerCase()} `;
  for (let i = 0; i + 3 <= s.length; i++) {
    const h = createHash('sha256').update(s.slice(i, i + 3)).digest();
    const bucket = h.readUInt32BE(0) % dim;
    v[bucket] = (v[bucket] ?? 0) + ((h[4] ?? 0) & 1 ? 1 : -1);
  }
  if (!v.some((x) => x !== 0)) v[0] = 1;
  return v;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of req) parts.push(c as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

export async function startFakeEmbeddingsUpstream(opts: { dim?: number; apiKey?: string } = {}): Promise<FakeEmbeddingsUpstream> {
  const dim = opts.dim ?? 64;
  const apiKey = opts.apiKey ?? 'sk-fake-embeddings';
  const requests: { model: string; input: string[] }[] = [];
  const state = { failWith: undefined as number | undefined };
  const server: Server = createServer((req, res) => {
    void (async () => {
      const send = (status: number, body: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.method !== 'POST' || req.url !== '/v1/embeddings') return send(404, { error: { message: 'not found', type: 'invalid_request_error' } });
      if (req.headers.authorization !== `Bearer ${apiKey}`) {
        return send(401, { error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } });
      }
      const body = JSON.parse(await readBody(req)) as { model?: unknown; input?: unknown; dimensions?: unknown };
      const input = typeof body.input === 'string' ? [body.input] : body.input;
      if (typeof body.model !== 'string' || !Array.isArray(input) || !input.every((x) => typeof x === 'string')) {
        return send(400, { error: { message: "'input' must be a string or an array of strings", type: 'invalid_request_error' } });
      }
      requests.push({ model: body.model, input: input as string[] });
      if (state.failWith !== undefined) return send(state.failWith, { error: { message: 'upstream trouble', type: 'server_error' } });
      const d = typeof body.dimensions === 'number' ? body.dimensions : dim;
      // Answer in reverse order: clients must place vectors by `index`, not by position.
      const data = (input as string[]).map((t, index) => ({ object: 'embedding', index, embedding: fakeVector(t, d) })).reverse();
      const tokens = (input as string[]).reduce((n, t) => n + Math.ceil(t.length / 4), 0);
      send(200, { object: 'list', data, model: body.model, usage: { prompt_tokens: tokens, total_tokens: tokens } });
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    apiKey,
    requests,
    get failWith() {
      return state.failWith;
    },
    set failWith(v) {
      state.failWith = v;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
