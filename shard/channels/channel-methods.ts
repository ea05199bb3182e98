// channels.* JSON-RPC methods: add/update/remove/list/get/status/start/stop and pairing.
// Credentials go in sealed and never come back out; add/remove/pair/unpair are audited.
import { z } from 'zod';
import { AppError } from '../../router/errors/app-error.ts';
import { defineMethod, type RpcMethod } from '../rpc/rpc-method.ts';
import type { TenantContext } from '../tenants/tenant-context.ts';
import type { ChannelFile } from './channel-files.ts';
import { ChannelNameSchema, PLATFORMS } from './channel-message.ts';
import type { ChannelsService, LiveChannel, TenantChannels } from './channels-service.ts';
import { ADAPTERS } from './platforms/adapters.ts';

const Name = z.object({ name: ChannelNameSchema }).strict();
const Payload = z.record(z.string(), z.unknown());

function invalid(err: z.ZodError, prefix: string): AppError {
  const i = err.issues[0];
  return new AppError('VALIDATION_FAILED', { details: { field: `${prefix}.${i?.path.join('.') ?? ''}`, problem: i?.message ?? 'invalid' } });
}

function view(tenantId: string, live: LiveChannel) {
  return {
    name: live.file.name,
    platform: live.file.platform,
    enabled: live.file.enabled,
    settings: live.ctx.settings,
    public: live.adapter.publicCredentials(live.ctx.credentials),
    webhookPath: `/hooks/${tenantId}/${live.file.name}`,
    createdAt: live.file.createdAt,
    updatedAt: live.file.updatedAt,
  };
}

function statusOf(live: LiveChannel) {
  const c = live.runner.counts();
  return { name: live.file.name, platform: live.file.platform, enabled: live.file.enabled, connector: live.runner.connectorStatus(), counts: c, unknownAfterSend: c.unknownAfterSend };
}

export function channelMethods(svc: ChannelsService): RpcMethod[] {
  const tenantChannels = (t: TenantContext): Promise<TenantChannels> => svc.activate(t);
  const liveOf = async (t: TenantContext, name: string): Promise<{ tc: TenantChannels; live: LiveChannel }> => {
    const tc = await tenantChannels(t);
    const live = tc.live.get(name);
    if (live === undefined) throw new AppError('CHANNEL_NOT_FOUND', { details: { name } });
    return { tc, live };
  };
  const save = async (t: TenantContext, tc: TenantChannels, file: ChannelFile, old: LiveChannel | undefined): Promise<LiveChannel> => {
    await old?.runner.stop();
    await svc.writeFile(t, file);
    const live = svc.mount(tc, file);
    await svc.startChannel(live);
    return live;
  };

  return [
    defineMethod({
      name: 'channels.add',
      changesCredentials: true,
      writesDisk: true,
      summary: 'Connects a messaging channel (telegram, slack, webchat, webhook); credentials are sealed and never returned.',
      params: z.object({ name: ChannelNameSchema, platform: z.enum(PLATFORMS), credentials: Payload.default({}), settings: Payload.default({}), enabled: z.boolean().default(true) }).strict(),
      handler: async (ctx, p) => {
        const t = ctx.tenant;
        const tc = await tenantChannels(t);
        if (tc.live.has(p.name) || (await svc.readFile(t, p.name)) !== null) throw new AppError('CHANNEL_EXISTS', { details: { name: p.name } });
        const adapter = ADAPTERS[p.platform];
        const creds = adapter.credentialsSchema.safeParse(p.credentials);
        if (!creds.success) throw invalid(creds.error, 'credentials');
        const settings = adapter.settingsSchema.safeParse(p.settings);
        if (!settings.success) throw invalid(settings.error, 'settings');
        const full = adapter.completeCredentials(creds.data);
        const now = svc.core.now().toISOString();
        const file: ChannelFile = { name: p.name, platform: p.platform, enabled: p.enabled, createdAt: now, updatedAt: now, settings: settings.data as Record<string, unknown>, credentials: svc.sealCredentials(t.id, p.name, full) };
        const live = await save(t, tc, file, undefined);
        t.audit({ action: 'channel.add', target: p.name, outcome: 'ok', details: { platform: p.platform } });
        // A secret the tenant needs to sign deliveries is shown once, here (it is sealed from now on).
        const shownOnce = p.platform === 'webhook' ? { signingSecret: (full as { signingSecret?: string }).signingSecret } : {};
        return { channel: view(t.id, live), ...shownOnce };
      },
    }),
    defineMethod({
      name: 'channels.update',
      changesCredentials: true,
      writesDisk: true,
      summary: 'Changes a channel’s settings and/or replaces its credentials; the channel restarts.',
      params: z.object({ name: ChannelNameSchema, settings: Payload.optional(), credentials: Payload.optional() }).strict(),
      handler: async (ctx, p) => {
        const t = ctx.tenant;
        const { tc, live } = await liveOf(t, p.name);
        const adapter = live.adapter;
        let sealed = live.file.credentials;
        if (p.credentials !== undefined) {
          const c = adapter.credentialsSchema.safeParse(p.credentials);
          if (!c.success) throw invalid(c.error, 'credentials');
          sealed = svc.sealCredentials(t.id, p.name, adapter.completeCredentials(c.data));
        } else if (svc.ring().isStale(sealed)) sealed = svc.sealCredentials(t.id, p.name, svc.openCredentials(t.id, live.file));
        const merged = { ...live.file.settings, ...(p.settings ?? {}) };
        const s = adapter.settingsSchema.safeParse(merged);
        if (!s.success) throw invalid(s.error, 'settings');
        const file: ChannelFile = { ...live.file, settings: s.data as Record<string, unknown>, credentials: sealed, updatedAt: svc.core.now().toISOString() };
        const next = await save(t, tc, file, live);
        t.audit({ action: 'channel.update', target: p.name, outcome: 'ok', details: { credentialsReplaced: p.credentials !== undefined } });
        return { channel: view(t.id, next) };
      },
    }),
    defineMethod({
      name: 'channels.remove',
      changesCredentials: true,
      summary: 'Disconnects a channel: stops it, deletes its file and its queues, pairing and cursor.',
      params: Name,
      handler: async (ctx, p) => {
        const t = ctx.tenant;
        const { tc, live } = await liveOf(t, p.name);
        await live.runner.stop();
        tc.live.delete(p.name);
        await svc.removeFile(t, p.name);
        tc.queues.forget(p.name);
        t.audit({ action: 'channel.remove', target: p.name, outcome: 'ok', details: { platform: live.file.platform } });
        return { removed: true };
      },
    }),
    defineMethod({
      name: 'channels.list',
      summary: "This tenant's channels (settings and public keys; never credentials).",
      params: z.object({}).strict().default({}),
      handler: async (ctx) => {
        const tc = await tenantChannels(ctx.tenant);
        return { channels: [...tc.live.values()].sort((a, b) => a.file.name.localeCompare(b.file.name)).map((l) => view(ctx.tenant.id, l)) };
      },
    }),
    defineMethod({
      name: 'channels.get',
      summary: 'One channel (settings, public keys, webhook path; never credentials).',
      params: Name,
      handler: async (ctx, p) => view(ctx.tenant.id, (await liveOf(ctx.tenant, p.name)).live),
    }),
    defineMethod({
      name: 'channels.status',
      summary: 'Connector state, queue counts and unknown_after_send replies of one channel or all.',
      params: z.object({ name: ChannelNameSchema.optional() }).strict().default({}),
      handler: async (ctx, p) => {
        if (p.name !== undefined) return statusOf((await liveOf(ctx.tenant, p.name)).live);
        const tc = await tenantChannels(ctx.tenant);
        return { channels: [...tc.live.values()].map(statusOf) };
      },
    }),
    defineMethod({
      name: 'channels.start',
      summary: 'Enables a channel: its connector runs (polling/socket) or its webhook accepts deliveries.',
      params: Name,
      handler: async (ctx, p) => {
        const { tc, live } = await liveOf(ctx.tenant, p.name);
        const next = live.file.enabled ? live : await save(ctx.tenant, tc, { ...live.file, enabled: true, updatedAt: svc.core.now().toISOString() }, live);
        if (next === live) await svc.startChannel(live);
        return statusOf(next);
      },
    }),
    defineMethod({
      name: 'channels.stop',
      summary: 'Disables a channel: its connector stops and webhook deliveries are refused.',
      params: Name,
      handler: async (ctx, p) => {
        const { tc, live } = await liveOf(ctx.tenant, p.name);
        const next = await save(ctx.tenant, tc, { ...live.file, enabled: false, updatedAt: svc.core.now().toISOString() }, live);
        return statusOf(next);
      },
    }),
    defineMethod({
      name: 'channels.pairing.list',
      summary: 'Pending pairing requests of a channel (code, sender, expiry) and the approved senders.',
      params: Name,
      handler: async (ctx, p) => {
        const { tc } = await liveOf(ctx.tenant, p.name);
        return { pending: tc.pairing.list(p.name), approved: tc.pairing.approved(p.name) };
      },
    }),
    defineMethod({
      name: 'channels.pairing.approve',
      changesCredentials: true,
      summary: 'Approves a pairing code: its sender may talk to the agent from now on.',
      params: z.object({ name: ChannelNameSchema, code: z.string().regex(/^[A-Za-z0-9]{8}$/) }).strict(),
      handler: async (ctx, p) => {
        const { tc } = await liveOf(ctx.tenant, p.name);
        const req = tc.pairing.approve(p.name, p.code);
        if (req === null) throw new AppError('CHANNEL_PAIRING_NOT_FOUND');
        ctx.tenant.audit({ action: 'channel.pair', target: p.name, outcome: 'ok', details: { sender: req.sender } });
        return { approved: true, sender: req.sender };
      },
    }),
    defineMethod({
      name: 'channels.pairing.deny',
      changesCredentials: true,
      summary: 'Denies a pairing code (the sender may ask again later).',
      params: z.object({ name: ChannelNameSchema, code: z.string().regex(/^[A-Za-z0-9]{8}$/) }).strict(),
      handler: async (ctx, p) => {
        const { tc } = await liveOf(ctx.tenant, p.name);
        const req = tc.pairing.deny(p.name, p.code);
        if (req === null) throw new AppError('CHANNEL_PAIRING_NOT_FOUND');
        ctx.tenant.audit({ action: 'channel.pair.deny', target: p.name, outcome: 'ok', details: { sender: req.sender } });
        return { denied: true, sender: req.sender };
      },
    }),
    defineMethod({
      name: 'channels.pairing.revoke',
      changesCredentials: true,
      summary: 'Unpairs an approved sender (they need a new code to talk again).',
      params: z.object({ name: ChannelNameSchema, sender: z.string().min(1).max(200) }).strict(),
      handler: async (ctx, p) => {
        const { tc } = await liveOf(ctx.tenant, p.name);
        const revoked = tc.pairing.revoke(p.name, p.sender);
        if (revoked) ctx.tenant.audit({ action: 'channel.unpair', target: p.name, outcome: 'ok', details: { sender: p.sender } });
        return { revoked };
      },
    }),
  ];
}
