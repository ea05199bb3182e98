// Resolves a model name (`openai/<m>`, `anthropic/<m>`, an operator alias, `echo`) to a provider.
import type { Agent } from 'undici';
import { AppError } from '../../../router/errors/app-error.ts';
import type { AiConfig } from '../ai-config.ts';
import { AnthropicProvider } from './anthropic-provider.ts';
import { EchoProvider } from './echo-provider.ts';
import { OpenAiProvider } from './openai-provider.ts';
import type { Provider } from './provider.ts';
import { createGuardedAgent } from './ssrf-agent.ts';

export const ECHO_MODEL = 'echo';

export interface ResolvedModel {
  /** Canonical id used in the ledger and rate card: `<provider>/<model>` or `echo`. */
  id: string;
  provider: Provider;
  /** The model name the upstream sees. */
  upstreamModel: string;
}

export interface ModelListing {
  id: string;
  owned_by: string;
  description?: string;
}

export class ModelRegistry {
  private readonly providers = new Map<string, Provider>();
  private readonly agents: Agent[] = [];
  private readonly cfg: AiConfig;
  private readonly echo = new EchoProvider();

  constructor(cfg: AiConfig) {
    this.cfg = cfg;
    for (const [name, pc] of Object.entries(cfg.providers)) {
      const agent = createGuardedAgent({ allowPrivateNetwork: pc.allowPrivateNetwork, connectTimeoutMs: pc.connectTimeoutMs });
      this.agents.push(agent);
      this.providers.set(name, pc.kind === 'anthropic' ? new AnthropicProvider(name, pc, agent) : new OpenAiProvider(name, pc, agent));
    }
  }

  resolve(model: string): ResolvedModel {
    let name = model;
    for (let depth = 0; depth < 5; depth++) {
      if (name === ECHO_MODEL) return { id: ECHO_MODEL, provider: this.echo, upstreamModel: ECHO_MODEL };
      const alias = Object.hasOwn(this.cfg.models, name) ? this.cfg.models[name] : undefined;
      if (alias !== undefined) {
        name = typeof alias === 'string' ? alias : alias.target;
        continue;
      }
      const slash = name.indexOf('/');
      if (slash > 0) {
        const provider = this.providers.get(name.slice(0, slash));
        const upstreamModel = name.slice(slash + 1);
        if (provider !== undefined && upstreamModel !== '') return { id: name, provider, upstreamModel };
      }
      break;
    }
    throw new AppError('AI_MODEL_NOT_FOUND', { message: `The model '${model.slice(0, 200)}' does not exist.`, details: { model: model.slice(0, 200) } });
  }

  list(): ModelListing[] {
    const out: ModelListing[] = [{ id: ECHO_MODEL, owned_by: 'openclawmu', description: 'Built-in offline echo model: answers "echo: <your text>", one token per word.' }];
    for (const [alias, target] of Object.entries(this.cfg.models)) {
      const t = typeof target === 'string' ? { target } : target;
      out.push({ id: alias, owned_by: 'alias', ...(t.description === undefined ? {} : { description: t.description }) });
    }
    for (const [name, pc] of Object.entries(this.cfg.providers)) {
      for (const m of pc.models) out.push({ id: `${name}/${m}`, owned_by: name });
    }
    return out;
  }

  async close(): Promise<void> {
    await Promise.all(this.agents.map((a) => a.close()));
  }
}
