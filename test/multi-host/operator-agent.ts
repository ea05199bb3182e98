// The tenants' side of test/multi-host.test.ts, run inside the router host's network namespace (the
// test process itself has no route into the namespaces): one JSON command per stdin line, one JSON
// answer per stdout line. It only ever talks to addresses the test gives it.
import { createInterface } from 'node:readline';

interface Command {
  readonly n: number;
  readonly op: 'wait' | 'chat' | 'health' | 'labels' | 'backup' | 'writer-start' | 'writer-stop';
  /** backup: the tenant, and the admin key it is made with (as a backup scheduler would call it). */
  readonly tenant?: string;
  readonly url?: string;
  readonly token?: string;
  readonly tokens?: string[];
  readonly text?: string;
  readonly timeoutMs?: number;
  /** health: ask again (every 100 ms) until the answer has this status, or `timeoutMs` passes. */
  readonly until?: number;
}

const post = (url: string, token: string, body: unknown, timeoutMs = 30_000): Promise<Response> =>
  fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });

async function rpc(base: string, token: string, method: string, params?: unknown, timeoutMs?: number): Promise<{ status: number; body: unknown; ms: number }> {
  const started = Date.now();
  try {
    const res = await post(`${base}/rpc`, token, { jsonrpc: '2.0', id: 1, method, ...(params === undefined ? {} : { params }) }, timeoutMs);
    return { status: res.status, body: await res.json().catch(() => null), ms: Date.now() - started };
  } catch (err) {
    return { status: 0, body: { error: String(err) }, ms: Date.now() - started };
  }
}

/** A writer: round-robin config.set over the tokens, recording every acknowledged write. */
let writer: { stop: boolean; acked: Array<{ token: string; key: string }>; errors: Array<{ status: number; body: unknown }>; done: Promise<void> } | null = null;

async function runWriter(base: string, tokens: string[], w: NonNullable<typeof writer>): Promise<void> {
  for (let i = 0; !w.stop; i++) {
    const token = tokens[i % tokens.length] as string;
    const key = `w${i}`;
    const r = await rpc(base, token, 'config.set', { path: `labels.${key}`, value: String(i) });
    if (r.status === 200 && (r.body as { error?: unknown }).error === undefined) w.acked.push({ token, key });
    else w.errors.push({ status: r.status, body: r.body });
  }
}

async function handle(c: Command): Promise<unknown> {
  const base = c.url ?? '';
  switch (c.op) {
    case 'wait': {
      const deadline = Date.now() + (c.timeoutMs ?? 30_000);
      for (;;) {
        try {
          const res = await fetch(base, { signal: AbortSignal.timeout(2000) });
          await res.body?.cancel();
          return { status: res.status };
        } catch {
          if (Date.now() > deadline) return { status: 0 };
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }
    case 'chat': {
      const res = await post(`${base}/v1/chat/completions`, c.token ?? '', { model: 'echo', messages: [{ role: 'user', content: c.text ?? 'hi' }] });
      const body = (await res.json()) as { choices?: Array<{ message: { content: string } }> };
      return { status: res.status, content: body.choices?.[0]?.message.content ?? null, shard: res.headers.get('x-openclawmu-shard') };
    }
    case 'health': {
      const deadline = Date.now() + (c.timeoutMs ?? 30_000);
      let r = await rpc(base, c.token ?? '', 'health', undefined, c.timeoutMs);
      while (c.until !== undefined && r.status !== c.until && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        r = await rpc(base, c.token ?? '', 'health', undefined, c.timeoutMs);
      }
      const result = (r.body as { result?: { tenant: string; shard: string } }).result;
      return { status: r.status, ms: r.ms, tenant: result?.tenant ?? null, shard: result?.shard ?? null, error: (r.body as { error?: { code?: string } }).error?.code ?? null };
    }
    case 'labels': {
      const r = await rpc(base, c.token ?? '', 'config.get', { overlayOnly: true });
      return { status: r.status, labels: (r.body as { result?: { labels?: Record<string, string> } }).result?.labels ?? {} };
    }
    case 'backup': {
      const res = await post(`${base}/v1/tenants/${c.tenant ?? ''}/backups`, c.token ?? '', {}, 120_000);
      return { status: res.status, key: ((await res.json()) as { key?: string }).key ?? null };
    }
    case 'writer-start': {
      const w = { stop: false, acked: [], errors: [], done: Promise.resolve() } as NonNullable<typeof writer>;
      w.done = runWriter(base, c.tokens ?? [], w);
      writer = w;
      return { started: true };
    }
    case 'writer-stop': {
      if (writer === null) return { acked: [], errors: [] };
      writer.stop = true;
      await writer.done;
      const { acked, errors } = writer;
      writer = null;
      return { acked, errors };
    }
  }
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const c = JSON.parse(line) as Command;
  void handle(c).then(
    (answer) => process.stdout.write(`${JSON.stringify({ n: c.n, answer })}\n`),
    (err: unknown) => process.stdout.write(`${JSON.stringify({ n: c.n, error: String(err) })}\n`),
  );
});
lines.on('close', () => process.exit(0));
