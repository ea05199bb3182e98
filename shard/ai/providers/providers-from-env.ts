// `openclawmu dev`: the providers section built from OPENAI_BASE_URL/OPENAI_API_KEY and
// ANTHROPIC_BASE_URL/ANTHROPIC_API_KEY (entry points pass process.env; nothing here reads it).
import type { z } from 'zod';
import type { ProvidersSchema } from '../ai-config.ts';

type ProvidersInput = NonNullable<z.input<typeof ProvidersSchema>>;

/**
 * A provider is configured when its key or its base URL is set. Dev runs on a developer's
 * machine, where a local server (Ollama, vLLM, a fake) is the usual target, so private
 * addresses are allowed here; production configs set `allowPrivateNetwork` explicitly.
 */
export function providersFromEnv(env: Record<string, string | undefined>): ProvidersInput {
  const out: ProvidersInput = {};
  const openaiKey = env['OPENAI_API_KEY'];
  const openaiUrl = env['OPENAI_BASE_URL'];
  if ((openaiKey ?? '') !== '' || (openaiUrl ?? '') !== '') {
    out['openai'] = { kind: 'openai', baseUrl: openaiUrl || 'https://api.openai.com/v1', ...(openaiKey ? { apiKey: openaiKey } : {}), allowPrivateNetwork: true };
  }
  const antKey = env['ANTHROPIC_API_KEY'];
  const antUrl = env['ANTHROPIC_BASE_URL'];
  if ((antKey ?? '') !== '' || (antUrl ?? '') !== '') {
    out['anthropic'] = { kind: 'anthropic', baseUrl: antUrl || 'https://api.anthropic.com', ...(antKey ? { apiKey: antKey } : {}), allowPrivateNetwork: true };
  }
  return out;
}
