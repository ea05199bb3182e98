// A shard wired to the fake OpenAI and Anthropic upstreams, with a rate card, for AI surface tests.
import type { TestContext } from 'node:test';
import OpenAI from 'openai';
import { FakeAnthropicUpstream } from '../fakes/fake-anthropic-upstream.ts';
import { FakeOpenAiUpstream } from '../fakes/fake-openai-upstream.ts';
import { createTenant, startTestShard, type TestShard } from '../helpers/shard-fixture.ts';
import type { ShardConfigInput } from '../../shard/config/shard-config.ts';

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
