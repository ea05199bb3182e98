// A shard wired to the fake OpenAI and Anthropic upstreams, with a rate card, for AI surface tests.
import type { TestContext } from 'node:test';
import OpenAI from 'openai';
import { FakeAnthropicUpstream } from '../fakes/fake-anthropic-upstream.ts';
import { FakeOpenAiUpstream } from '../fakes/fake-openai-upstream.ts';
import { createTenant, startTestShard, tempDir, type TestShard } from '../helpers/shard-fixture.ts';
import { parseShardConfig, type ShardConfigInput } from '../../shard/config/shard-config.ts';
import { startShard, type RunningShard } from '../../shard/app/start-shard.ts';
import { createLogger } from '../../shard/observability/logger.ts';
import { sha256Hex } from '../../shard/auth/token-hash.ts';
import { mintAdminKey } from '../../router/identity/tenant-id.ts';

export const RATE_CARD = {
  'openai/gpt-fake': { input: 0.15, output: 0.6, cacheRead: 0.075 },
  'anthropic/*': { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 },
  echo: { input: 1, output: 2 },
};

export interface AiFixture {
  shard: TestShard;
  openaiFake: FakeOpenAiUpstream;
  anthropicFake: FakeAnthropicUpstream;
  tenant(id: string, quota?: Record<string, number>): Promise<{ token: string; client: OpenAI }>;
  clientFor(token: string): OpenAI;
}

export async function startAiFixture(t: TestContext, config: Partial<ShardConfigInput> = {}): Promise<AiFixture> {
  const openaiFake = await FakeOpenAiUpstream.start({ apiKey: 'sk-upstream-openai' });
  t.after(() => openaiFake.close());
  const anthropicFake = await FakeAnthropicUpstream.start({ apiKey: 'sk-upstream-anthropic', cacheReadTokens: 4, cacheWriteTokens: 2 });
  t.after(() => anthropicFake.close());
  const shard = await startTestShard(t, {
    config: {
      logLevel: 'warn',
      providers: {
        openai: { kind: 'openai', baseUrl: openaiFake.baseUrl, apiKey: 'sk-upstream-openai', allowPrivateNetwork: true, models: ['gpt-fake'], maxRetries: 0 },
        anthropic: { kind: 'anthropic', baseUrl: anthropicFake.url, apiKey: 'sk-upstream-anthropic', allowPrivateNetwork: true, models: ['claude-fake'], maxRetries: 0 },
      },
      models: { fast: 'openai/gpt-fake', smart: { target: 'anthropic/claude-fake', description: 'the careful one' } },
      rateCard: RATE_CARD,
      ...config,
    },
  });
  const clientFor = (token: string): OpenAI => new OpenAI({ apiKey: token, baseURL: `${shard.url}/v1`, maxRetries: 0, timeout: 20_000 });
  return {
    shard,
    openaiFake,
    anthropicFake,
    clientFor,
    async tenant(id, quota) {
      const { token } = await createTenant(shard, id, quota === undefined ? {} : { quota });
      return { token, client: clientFor(token) };
    },
  };
}

/** A test clock: starts at `startMs`, moves only when told. */
export class TestClock {
  ms: number;
  constructor(startMs: number) {
    this.ms = startMs;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
  now = (): Date => new Date(this.ms);
}

export interface ClockedShard {
  shard: RunningShard;
  adminKey: string;
  dataDir: string;
  createTenant(id: string, quota?: Record<string, number>): Promise<string>;
  clientFor(token: string): OpenAI;
}

/** A shard on an injected clock (echo model only unless `config` adds providers). */
export async function startClockedShard(t: TestContext, clock: TestClock, config: Partial<ShardConfigInput> = {}, reuse?: { dataDir: string; adminKey: string }): Promise<ClockedShard> {
  const dataDir = reuse?.dataDir ?? tempDir(t);
  const adminKey = reuse?.adminKey ?? mintAdminKey();
  const cfg = parseShardConfig({ id: 's1', port: 0, dataDir, logLevel: 'silent', rateCard: RATE_CARD, ...config, adminKeyHashes: [sha256Hex(adminKey)] });
  const shard = await startShard(cfg, { log: createLogger({ level: 'silent' }), now: clock.now });
  t.after(() => shard.close());
  return {
    shard,
    adminKey,
    dataDir,
    clientFor: (token) => new OpenAI({ apiKey: token, baseURL: `${shard.url}/v1`, maxRetries: 0, timeout: 20_000 }),
    async createTenant(id, quota) {
      const res = await fetch(`${shard.url}/v1/tenants`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ id, ...(quota === undefined ? {} : { quota }) }),
      });
      if (res.status !== 201) throw new Error(`create ${id}: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { token: string }).token;
    },
  };
}
