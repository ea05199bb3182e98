// The router's configuration: CLI flags → YAML file → defaults, validated by zod, frozen.
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { AppError } from '../errors/app-error.ts';
import { parseWith } from '../errors/zod-error.ts';
import { ADMIN_KEY_HASH_PATTERN, ADMIN_KEY_HASH_RULE, isAdminKeyShape } from '../identity/tenant-id.ts';
import { parseCidr } from '../core/client-address.ts';

export const RouterConfigSchema = z
  .object({
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(18789),
    /** Where the fleet manifest lives: a .json path, http(s)://, file:///dir or s3://bucket/prefix. */
    manifest: z.string().min(1),
    pollIntervalMs: z.number().int().min(100).default(2000),
    adminKeyHashes: z.array(z.string().regex(ADMIN_KEY_HASH_PATTERN, ADMIN_KEY_HASH_RULE)).default([]),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /**
     * Proxies whose X-Forwarded-For is believed (CIDRs or addresses, e.g. ["10.0.0.0/8"]): the client
     * address (throttle, logs, the chain sent on) is the first untrusted hop, read right to left.
     */
    trustedProxies: z.array(z.string().refine((v) => parseCidr(v.trim()) !== null, 'an IP address or CIDR (10.0.0.0/8, fd00::/8)')).default([]),
    /** Older switch: the direct peer is a trusted proxy whatever its address (prefer trustedProxies). */
    trustForwardedFor: z.boolean().default(false),
    /** Browser clients: origins allowed (exact, or "*"); the router answers preflights itself. */
    cors: z
      .object({
        origins: z.array(z.string().refine((o) => o === '*' || /^https?:\/\/[^/\s]+$/.test(o.replace(/\/+$/, '')), 'an origin (https://app.example.com) or *')).default([]),
        maxAgeSeconds: z.number().int().min(0).max(86_400).default(600),
      })
      .strict()
      .prefault({}),
    /** Forward plain tenant requests on the Node fast path (fast-forward.ts); false sends all through the core. */
    fastPath: z.boolean().default(true),
    limits: z
      .object({
        maxBodyBytes: z.number().int().positive().default(16 * 1024 * 1024),
        replayBodyBytes: z.number().int().nonnegative().default(1024 * 1024),
        maxHops: z.number().int().min(0).max(5).default(2),
        holdLimitMs: z.number().int().nonnegative().default(10_000),
        fanoutTimeoutMs: z.number().int().positive().default(5_000),
        connectTimeoutMs: z.number().int().positive().default(5_000),
        /** A WebSocket upgrade: time from connecting to the shard to its response head (101, 421, …). */
        upgradeTimeoutMs: z.number().int().positive().default(10_000),
        headersTimeoutMs: z.number().int().positive().default(300_000),
        bodyTimeoutMs: z.number().int().positive().default(300_000),
        connectionsPerShard: z.number().int().positive().default(64),
        /** Client side: the whole request must arrive within this. */
        requestTimeoutMs: z.number().int().positive().default(300_000),
        drainTimeoutMs: z.number().int().positive().default(10_000),
      })
      .strict()
      .prefault({}),
    /**
     * Active health probes (GET /healthz) of every shard: `failures` misses in a row mark a shard
     * unreachable (its tenants get 503 ROUTER_SHARD_UNREACHABLE at once, requests waiting on it end),
     * one answer marks it up again. intervalMs 0 turns probing off.
     */
    healthProbe: z
      .object({ intervalMs: z.number().int().nonnegative().default(1000), timeoutMs: z.number().int().positive().default(1000), failures: z.number().int().positive().default(2) })
      .strict()
      .prefault({}),
    authThrottle: z
      .object({ limit: z.number().int().positive().default(20), windowMs: z.number().int().positive().default(60_000) })
      .strict()
      .prefault({}),
  })
  .strict();

export type RouterConfig = Readonly<z.infer<typeof RouterConfigSchema>>;
export type RouterConfigInput = z.input<typeof RouterConfigSchema>;

export interface RouterFlags {
  host?: string;
  port?: number;
  manifest?: string;
  adminKey?: string[];
  config?: string;
  logLevel?: string;
}

export function parseRouterConfig(input: unknown, source = 'config'): RouterConfig {
  return Object.freeze(parseWith(RouterConfigSchema, input, { code: 'CONFIG_INVALID', prefix: source, list: 'first', details: { source } }));
}

export function loadRouterConfig(flags: RouterFlags): RouterConfig {
  let fromFile: Record<string, unknown> = {};
  if (flags.config !== undefined) {
    let parsed: unknown;
    try {
      parsed = parseYaml(readFileSync(flags.config, 'utf8'));
    } catch (err) {
      throw new AppError('CONFIG_INVALID', { message: `${flags.config}: cannot read or parse (${(err as Error).message})`, cause: err });
    }
    if (parsed !== null && parsed !== undefined) {
      if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new AppError('CONFIG_INVALID', { message: `${flags.config}: the top level must be a mapping` });
      fromFile = parsed as Record<string, unknown>;
    }
  }
  const merged: Record<string, unknown> = { ...fromFile };
  if (flags.host !== undefined) merged['host'] = flags.host;
  if (flags.port !== undefined) merged['port'] = flags.port;
  if (flags.manifest !== undefined) merged['manifest'] = flags.manifest;
  if (flags.logLevel !== undefined) merged['logLevel'] = flags.logLevel;
  if (flags.adminKey !== undefined && flags.adminKey.length > 0) {
    for (const k of flags.adminKey) {
      if (!isAdminKeyShape(k)) throw new AppError('CONFIG_INVALID', { message: '--admin-key: admin keys look like ak_<32 lowercase hex>' });
    }
    const prior = Array.isArray(merged['adminKeyHashes']) ? (merged['adminKeyHashes'] as unknown[]) : [];
    merged['adminKeyHashes'] = [...prior, ...flags.adminKey.map((k) => createHash('sha256').update(k).digest('hex'))];
  }
  return parseRouterConfig(merged, flags.config ?? 'flags');
}
