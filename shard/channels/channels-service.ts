// The channels feature's services: per resident tenant, its channel instances (file + runner), the
// operations behind channels.* and the webhook route, and the connectors only the owner runs.
import { Agent, type Dispatcher } from 'undici';
import { AppError } from '../../router/errors/app-error.ts';
import type { CoreServices, FeatureServices } from '../app/shard-feature.ts';
import { createGuardedAgent } from '../ai/providers/ssrf-agent.ts';
import { tenantContext } from '../http/tenant-request.ts';
import type { TenantContext } from '../tenants/tenant-context.ts';
import type { AccessSettings } from './access-policy.ts';
import type { AdapterContext, AnyChannelAdapter, InboundRequest } from './channel-adapter.ts';
import { deleteChannelFile, listChannelFiles, readChannelFile, writeChannelFile, type ChannelFile } from './channel-files.ts';
import type { Platform } from './channel-message.ts';
import { createChannelMetrics, type ChannelMetrics } from './channel-metrics.ts';
import { ChannelQueues } from './channel-queues.ts';
import { ChannelRunner } from './channel-runner.ts';
import type { ChannelsConfig } from './channels-config.ts';
import { ConversationLanes } from './conversation-lanes.ts';
import { SealKeyring, credentialAad, openJson, sealJson } from './credential-seal.ts';
import { PairingStore } from './pairing-store.ts';
import { ADAPTERS } from './platforms/adapters.ts';
import type { TenantTurnRunner } from './turn-runner.ts';

export interface LiveChannel {
  file: ChannelFile;
  adapter: AnyChannelAdapter;
  ctx: AdapterContext<unknown, AccessSettings>;
  runner: ChannelRunner;
}

export interface TenantChannels {
  readonly tenant: TenantContext;
  readonly queues: ChannelQueues;
  readonly pairing: PairingStore;
  readonly live: Map<string, LiveChannel>;
}

export class ChannelsService implements FeatureServices {
  readonly core: CoreServices;
  readonly config: ChannelsConfig;
  readonly metrics: ChannelMetrics;
  private readonly keyring: SealKeyring | null;
  private readonly turns: TenantTurnRunner;
  private readonly lanes = new ConversationLanes();
  private readonly plain: Agent;
  private readonly guarded: Agent;
  private readonly tenants = new Map<string, Promise<TenantChannels>>();
  /** The same tenants once loaded (for synchronous questions: residency pins, metrics). */
  private readonly loaded = new Map<string, TenantChannels>();

  constructor(core: CoreServices, config: ChannelsConfig, turns: TenantTurnRunner) {
    this.core = core;
    this.config = config;
    this.turns = turns;
    this.keyring = config.sealKeys.length === 0 ? null : new SealKeyring(config.sealKeys, config.activeSealKey);
    this.plain = new Agent({ keepAliveTimeout: 10_000 });
    this.guarded = createGuardedAgent({ allowPrivateNetwork: config.webhook.allowPrivateNetwork, connectTimeoutMs: 5000 });
    this.metrics = createChannelMetrics(core.metrics.registry, () => this.connectorsRunning());
  }

  ring(): SealKeyring {
    if (this.keyring === null) throw new AppError('CHANNEL_SEAL_KEY_MISSING', { details: { keyId: null } });
    return this.keyring;
  }

  /** A context for work the shard does on a tenant's behalf (webhooks, connectors): no caller token. */
  systemContext(tenantId: string, requestId: string): TenantContext {
    return tenantContext(this.core, tenantId, { type: 'system' }, requestId);
  }

  /** The tenant's channels, loaded on first use: pending events resume, enabled connectors start. */
  activate(tenant: TenantContext): Promise<TenantChannels> {
    let p = this.tenants.get(tenant.id);
    if (p === undefined) {
      const sys = this.systemContext(tenant.id, tenant.requestId);
      p = this.load(sys);
      this.tenants.set(tenant.id, p);
      p.then(
        (tc) => this.loaded.set(tenant.id, tc),
        () => this.tenants.delete(tenant.id),
      );
    }
    return p;
  }

  isActive(tenantId: string): boolean {
    return this.tenants.has(tenantId);
  }

  /** Stops the tenant's connectors and waits for running events (freeze, move, delete, shutdown). */
  async deactivate(tenantId: string): Promise<void> {
    const p = this.tenants.get(tenantId);
    if (p === undefined) return;
    this.tenants.delete(tenantId);
    this.loaded.delete(tenantId);
    const tc = await p.catch(() => null);
    if (tc === null) return;
    await Promise.all([...tc.live.values()].map((l) => l.runner.stop()));
  }

  pinsResidency(tenantId: string): boolean {
    return this.tenants.has(tenantId) && this.connectorsOf(tenantId) > 0;
  }

  /** Builds (or rebuilds) the runner of a channel file and registers it. */
  mount(tc: TenantChannels, file: ChannelFile): LiveChannel {
    const adapter = ADAPTERS[file.platform];
    const aad = credentialAad(tc.tenant.id, file.name);
    const credentials = adapter.credentialsSchema.parse(openJson(this.ring(), file.credentials, aad)) as unknown;
    const settings = adapter.settingsSchema.parse(file.settings) as AccessSettings;
    const ctx: AdapterContext<unknown, AccessSettings> = {
      tenant: tc.tenant.id,
      channel: file.name,
      credentials,
      settings,
      apiBaseUrl: this.apiBaseOf(file.platform),
      dispatcher: this.dispatcherOf(file.platform),
      now: () => this.core.now().getTime(),
      platformTimeoutMs: this.config.platformTimeoutMs,
    };
    const platform = file.platform;
    const runner = new ChannelRunner({
      tenant: tc.tenant.id,
      name: file.name,
      adapter,
      ctx,
      queues: tc.queues,
      pairing: tc.pairing,
      lanes: this.lanes,
      runTurn: this.turns(tc.tenant),
      observer: {
        ingress: (outcome) => this.metrics.ingress.inc({ platform, outcome }),
        egress: (outcome) => this.metrics.egress.inc({ platform, outcome }),
        turnFailed: (err) => {
          this.metrics.turnFailures.inc({ platform });
          this.core.log.warn({ tenantId: tc.tenant.id, channel: file.name, err }, 'channel turn failed');
        },
      },
    });
    const live: LiveChannel = { file, adapter, ctx, runner };
    tc.live.set(file.name, live);
    return live;
  }

  /** Starts what an enabled channel runs: its pending events, its connector, its webhook registration. */
  async startChannel(live: LiveChannel): Promise<void> {
    live.runner.resume();
    if (!live.file.enabled) return;
    live.runner.startConnector();
    if (!live.adapter.usesConnector(live.ctx.settings) && live.adapter.registerWebhook !== undefined && this.config.publicBaseUrl !== undefined) {
      await live.adapter.registerWebhook(live.ctx, `${this.config.publicBaseUrl.replace(/\/$/, '')}/hooks/${live.ctx.tenant}/${live.file.name}`);
    }
  }

  sealCredentials(tenantId: string, name: string, credentials: unknown): ChannelFile['credentials'] {
    return sealJson(this.ring(), credentials, credentialAad(tenantId, name));
  }

  openCredentials(tenantId: string, file: ChannelFile): unknown {
    return openJson(this.ring(), file.credentials, credentialAad(tenantId, file.name));
  }

  async readFile(tenant: TenantContext, name: string): Promise<ChannelFile | null> {
    return readChannelFile(tenant, name);
  }

  async writeFile(tenant: TenantContext, file: ChannelFile): Promise<void> {
    await writeChannelFile(tenant, file);
  }

  async removeFile(tenant: TenantContext, name: string): Promise<void> {
    await deleteChannelFile(tenant, name);
  }

  /** An inbound platform delivery: verified by the channel's own secret, stored, then answered. */
  async receive(tenantId: string, name: string, req: InboundRequest, requestId: string): Promise<{ status: number; body?: unknown }> {
    const live = await this.liveOrNotFound(tenantId, name, requestId);
    if (!live.file.enabled) throw new AppError('CHANNEL_DISABLED', { details: { reason: 'the channel is stopped' } });
    try {
      return live.runner.receive(req).response;
    } catch (err) {
      if (err instanceof AppError && err.code === 'CHANNEL_SIGNATURE_INVALID') this.metrics.signatureFailures.inc({ platform: live.file.platform });
      throw err;
    }
  }

  async liveOrNotFound(tenantId: string, name: string, requestId: string): Promise<LiveChannel> {
    if (this.core.store.get(tenantId) === undefined) throw new AppError('CHANNEL_NOT_FOUND');
    const tc = await this.activate(this.systemContext(tenantId, requestId));
    const live = tc.live.get(name);
    if (live === undefined) throw new AppError('CHANNEL_NOT_FOUND');
    return live;
  }

  /** Every owned tenant with an enabled connector channel (a shard start; a thaw). */
  async startOwnedConnectors(): Promise<void> {
    const ids: string[] = [];
    let cursor: string | undefined;
    do {
      const page = this.core.store.list(cursor, 500);
      for (const r of page.records) ids.push(r.id);
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    for (const id of ids) {
      const state = this.core.ownership.get(id);
      if (state?.kind !== 'owned') continue;
      const ctx = this.systemContext(id, 'startup');
      const files = await listChannelFiles(ctx).catch(() => []);
      if (files.some((f) => f.enabled && ADAPTERS[f.platform].usesConnector(ADAPTERS[f.platform].settingsSchema.parse(f.settings)))) {
        // through the lifecycle, so the tenant is resident (and pinned while its connector runs)
        await this.core.lifecycle.activate(id).catch((err: unknown) => this.core.log.warn({ tenantId: id, err }, 'channels did not start'));
      }
    }
  }

  async close(): Promise<void> {
    for (const id of [...this.tenants.keys()]) await this.deactivate(id);
    await this.plain.close();
    await this.guarded.close();
  }

  private async load(tenant: TenantContext): Promise<TenantChannels> {
    const db = tenant.stateDb();
    const now = (): number => this.core.now().getTime();
    const tc: TenantChannels = { tenant, queues: new ChannelQueues(db, now), pairing: new PairingStore(db, now), live: new Map() };
    for (const file of await listChannelFiles(tenant)) {
      try {
        await this.startChannel(this.mount(tc, file));
      } catch (err) {
        this.core.log.warn({ tenantId: tenant.id, channel: file.name, err }, 'channel did not start');
      }
    }
    return tc;
  }

  private connectorsOf(tenantId: string): number {
    let n = 0;
    for (const l of this.loaded.get(tenantId)?.live.values() ?? []) {
      const st = l.runner.connectorStatus()?.state;
      if (st === 'running' || st === 'starting' || st === 'backoff') n++;
    }
    return n;
  }

  private connectorsRunning(): number {
    let n = 0;
    for (const id of this.loaded.keys()) n += this.connectorsOf(id);
    return n;
  }

  private apiBaseOf(platform: Platform): string {
    switch (platform) {
      case 'telegram':
        return this.config.telegram.apiBaseUrl.replace(/\/$/, '');
      case 'slack':
        return this.config.slack.apiBaseUrl.replace(/\/$/, '');
      case 'webchat':
      case 'webhook':
        return '';
    }
  }

  private dispatcherOf(platform: Platform): Dispatcher {
    // Telegram and Slack bases are operator config; a webhook callback URL is tenant input.
    return platform === 'webhook' ? this.guarded : this.plain;
  }
}
