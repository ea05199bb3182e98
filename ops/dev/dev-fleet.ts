// The local dev fleet: N shard processes and a router on a file blob store under one data dir.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AppError } from '../../router/errors/app-error.ts';
import { isAdminKeyShape, mintAdminKey } from '../../router/identity/tenant-id.ts';
import { openBlobStore } from '../../router/blob/open-blob-store.ts';
import { manifestStore } from '../../router/manifest/manifest-store.ts';
import type { Manifest } from '../../router/manifest/manifest-schema.ts';
import { readDevState, type DevState } from '../client/control-client.ts';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { providersFromEnv } from '../../shard/ai/providers/providers-from-env.ts';
import { deepMerge } from '../../shard/config/tenant-config.ts';
import { startChild, type FleetChild } from './child-process.ts';
import { ADMIN_KEY_ENV } from '../admin-key-sources.ts';

function readShardConfigFile(path: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new AppError('CONFIG_INVALID', { message: `--shard-config ${path}: not readable YAML`, cause: err });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new AppError('CONFIG_INVALID', { message: `--shard-config ${path}: the file must hold a mapping` });
  return parsed as Record<string, unknown>;
}

export interface DevFleetOptions {
  shards?: number;
  /** Router port (0: any free port). Shards always take free ports: the manifest records where they are. */
  port?: number;
  data: string;
  adminKey?: string;
  host?: string;
  env: NodeJS.ProcessEnv;
  /** A YAML file merged into every shard's config (platform API bases, seal keys, ...). */
  shardConfigFile?: string;
}

export interface DevFleet {
  readonly routerUrl: string;
  readonly adminKey: string;
  readonly dataDir: string;
  readonly blobUrl: string;
  readonly manifest: Manifest;
  /** Providers configured from the environment (empty: only the built-in echo model). */
  readonly providers: readonly string[];
  readonly children: readonly FleetChild[];
  /** Calls `listener` for each child that exits on its own (not through stop()). */
  onExit(listener: (child: FleetChild, code: number | null) => void): void;
  stop(): Promise<void>;
}

export async function startDevFleet(opts: DevFleetOptions): Promise<DevFleet> {
  const dataDir = resolve(opts.data);
  mkdirSync(join(dataDir, 'logs'), { recursive: true, mode: 0o700 });
  const prior = readDevState(dataDir);
  const shardCount = opts.shards ?? prior?.shards ?? 3;
  if (!Number.isInteger(shardCount) || shardCount < 1 || shardCount > 64) throw new AppError('VALIDATION_FAILED', { message: '--shards is an integer 1..64' });
  if (prior?.shards !== undefined && prior.shards !== shardCount) {
    throw new AppError('VALIDATION_FAILED', {
      message: `${dataDir} was created with ${prior.shards} shards; run with --shards ${prior.shards} (changing the shard count moves tenants: that is a rebalance, not a restart)`,
    });
  }
  const port = opts.port ?? prior?.port ?? 18789;
  const host = opts.host ?? '127.0.0.1';
  const adminKey = opts.adminKey ?? prior?.adminKey ?? mintAdminKey();
  if (!isAdminKeyShape(adminKey)) throw new AppError('CONFIG_INVALID', { message: '--admin-key: admin keys look like ak_<32 lowercase hex>' });
  const blobDir = join(dataDir, 'blobs');
  mkdirSync(blobDir, { recursive: true, mode: 0o700 });
  const blobUrl = pathToFileURL(blobDir).href;

  // Providers from OPENAI_* / ANTHROPIC_* (none set: the built-in echo model only). The file holds
  // API keys, so it is private to the user; it is rewritten on every start from the environment.
  const providers = providersFromEnv(opts.env);
  const shardConfig = join(dataDir, 'shard-config.yaml');
  const extra = opts.shardConfigFile === undefined ? {} : readShardConfigFile(opts.shardConfigFile);
  // A channel seal key for this dev fleet, made once and kept (credentials sealed with it must reopen).
  const sealKey = prior?.channelSealKey ?? randomBytes(32).toString('base64');
  const base = { providers, features: { channels: { sealKeys: [{ id: 'dev', key: sealKey }] } } };
  writeFileSync(shardConfig, stringifyYaml(deepMerge(base, extra)), { mode: 0o600 });
  chmodSync(shardConfig, 0o600);

  const children: FleetChild[] = [];
  let stopping = false;
  const stopAll = async (): Promise<void> => {
    stopping = true;
    // Router first (no new traffic), then the shards drain.
    const router = children.find((c) => c.name === 'router');
    if (router !== undefined) await router.stop();
    await Promise.all(children.filter((c) => c.name !== 'router').map((c) => c.stop()));
  };

  // The admin key reaches the children through their environment, never their command line (`ps`).
  const childEnv: NodeJS.ProcessEnv = { ...opts.env, [ADMIN_KEY_ENV]: adminKey };
  try {
    const shardProcs = await Promise.all(
      Array.from({ length: shardCount }, (_, i) => {
        const id = `s${i + 1}`;
        const shardDir = join(dataDir, 'shards', id);
        mkdirSync(shardDir, { recursive: true, mode: 0o700 });
        return startChild(
          id,
          ['shard', '--id', id, '--host', host, '--port', '0', '--data', shardDir, '--blob', blobUrl, '--config', shardConfig],
          join(dataDir, 'logs', `${id}.log`),
          childEnv,
        ).then((c) => (children.push(c), c));
      }),
    );
    const blobs = openBlobStore(blobUrl);
    let manifest: Manifest;
    try {
      const store = manifestStore(blobs);
      const current = await store.read();
      const wanted = devManifestShards(current?.manifest ?? null, shardProcs.map((c) => ({ id: c.name, url: c.url })));
      const same = current !== null && JSON.stringify(current.manifest.shards.map((s) => s.id + s.url)) === JSON.stringify(wanted.map((s) => s.id + s.url));
      manifest = same ? current.manifest : (await store.update((cur) => ({ version: 0, shards: wanted, overrides: cur?.overrides ?? {} }))).manifest;
    } finally {
      await blobs.close();
    }
    const router = await startChild(
      'router',
      ['router', '--host', host, '--port', String(port), '--manifest', blobUrl],
      join(dataDir, 'logs', 'router.log'),
      childEnv,
    );
    children.push(router);
    const state: DevState = { adminKey, routerUrl: router.url, shards: shardCount, port, channelSealKey: sealKey };
    const devJson = join(dataDir, 'dev.json');
    writeFileSync(devJson, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
    chmodSync(devJson, 0o600);
    const onExit = (listener: (c: FleetChild, code: number | null) => void): void => {
      for (const c of children) void c.exited.then((code) => !stopping && listener(c, code));
    };
    return { routerUrl: router.url, adminKey, dataDir, blobUrl, manifest, providers: Object.keys(providers), children, onExit, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/**
 * The shard list a dev fleet publishes at start: its own shards with their (possibly new) URLs,
 * keeping weight and draining; shards added by hand (`fleet add-shard`) untouched, since they own
 * tenants; and no dev shard that an existing manifest no longer lists (`fleet remove-shard`), since
 * placement would hand it tenants it does not hold.
 */
export function devManifestShards(current: Manifest | null, procs: ReadonlyArray<{ id: string; url: string }>): Array<{ id: string; url: string; weight: number; draining?: boolean }> {
  const prev = new Map((current?.shards ?? []).map((s) => [s.id, s]));
  const own = procs
    .filter((c) => current === null || prev.has(c.id))
    .map((c) => {
      const p = prev.get(c.id);
      return { id: c.id, url: c.url, weight: p?.weight ?? 1, ...(p?.draining === true ? { draining: true } : {}) };
    });
  const extra = (current?.shards ?? []).filter((s) => !procs.some((c) => c.id === s.id)).map((s) => ({ ...s }));
  return [...own, ...extra];
}
