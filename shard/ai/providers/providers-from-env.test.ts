// providersFromEnv: what `openclawmu dev` configures from the environment.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProvidersSchema } from '../ai-config.ts';
import { providersFromEnv } from './providers-from-env.ts';

void test('nothing set: no providers (echo only); each family appears when its key or URL is set', () => {
  assert.deepEqual(providersFromEnv({}), {});
  const p = ProvidersSchema.parse(providersFromEnv({ OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1', ANTHROPIC_API_KEY: 'sk-ant' }));
  assert.equal(p['openai']?.baseUrl, 'http://127.0.0.1:11434/v1');
  assert.equal(p['openai']?.apiKey, undefined);
  assert.equal(p['anthropic']?.baseUrl, 'https://api.anthropic.com');
  assert.equal(p['anthropic']?.apiKey, 'sk-ant');
  assert.equal(p['anthropic']?.kind, 'anthropic');
});
