// The feature contract (DESIGN §12): everything a shard does for tenants is a ShardFeature, listed
// once in features.ts; the services and the app are built by looping over that list.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type pino from 'pino';
import type { z } from 'zod';
import type { AuditLog } from '../audit/audit-log.ts';
import type { ShardConfig } from '../config/shard-config.ts';
import type { TenantSockets } from '../http/tenant-sockets.ts';
import type { ShardMetrics } from '../observability/metrics.ts';
import type { Ownership } from '../ownership/ownership.ts';
import type { RpcMethod } from '../rpc/rpc-method.ts';
import type { Migration } from '../tenants/state-migrations.ts';
import type { TenantDatabases } from '../tenants/tenant-databases.ts';
import type { TenantStore } from '../tenants/tenant-store.ts';

/** What the shard has before any feature: config, tenants on disk, ownership, audit, metrics. */
export interface CoreServices {
  readonly config: ShardConfig;
  readonly dataDir: string;
  readonly log: pino.Logger;
  readonly audit: AuditLog;
  readonly ownership: Ownership;
  readonly databases: TenantDatabases;
  readonly store: TenantStore;
  readonly metrics: ShardMetrics;
  /** Open WebSockets per tenant (closed when the tenant is frozen, moved or deleted). */
  readonly sockets: TenantSockets;
  readonly now: () => Date;
}

/** What a feature's `services()` returns: anything, as long as it can be closed (after the app drained). */
export interface FeatureServices {
  close(): Promise<void> | void;
}

/**
 * A feature's tables. Each feature numbers its migrations 1, 2, 3... on its own; the shard records
 * what it applied per (feature, version) in each database's `feature_migrations` table, so features
 * never share (or race for) one version counter. See shard/tenants/feature-migrations.ts.
 */
export interface FeatureMigrations {
  readonly state?: readonly Migration[];
  readonly memory?: readonly Migration[];
}

/** The tenant a lifecycle hook is about (what the hook needs to find its own per-tenant state). */
export interface LifecycleTenant {
  readonly id: string;
  /** Absolute path of <data>/tenants/<id>. */
  readonly dir: string;
}

/** Why a tenant stops being resident (DESIGN §11). */
export type InactiveReason = 'idle' | 'evicted' | 'frozen' | 'moved' | 'deleted' | 'replaced' | 'shutdown';

/**
 * One feature's lifecycle hooks, bound to its services: what the tenant lifecycle calls. Every
 * `onInactive` finishes before the tenant's databases are checkpointed and closed.
 */
export interface LifecycleHooks {
  readonly name: string;
  onActive?(tenant: LifecycleTenant): Promise<void>;
  onInactive?(tenant: LifecycleTenant, reason: InactiveReason): Promise<void>;
  /** True while the feature needs the tenant resident without requests (a polling connector). */
  pinsResidency?(tenant: LifecycleTenant): boolean;
}

/** A WebSocket upgrade request for one of a feature's paths; the handler answers or closes `socket`. */
export interface WsUpgrade {
  readonly req: IncomingMessage;
  readonly socket: Duplex;
  readonly head: Buffer;
  readonly url: URL;
}

/** Answers one upgrade (written as a method type so a feature's handler fits the feature list). */
export type WsHandler<S> = { handle(upgrade: WsUpgrade, services: S): void }['handle'];

/** What `services()` gets besides the core: its validated config part and the features before it. */
export interface FeatureDeps<C> {
  /** The feature's part of the shard config (`features.<name>`), validated by its `config` schema. */
  readonly config: C;
  /** The services of a feature listed earlier in features.ts (throws if it is not). */
  servicesOf<T extends FeatureServices>(feature: ShardFeature<T>): T;
  /** The same for a feature this one can do without: undefined when it is not listed before it. */
  optionalServicesOf<T extends FeatureServices>(feature: ShardFeature<T>): T | undefined;
}

export interface ShardFeature<S extends FeatureServices = FeatureServices, C = unknown> {
  /** Unique, kebab-case; names the feature in config (`features.<name>`), migrations and logs. */
  readonly name: string;
  /** Its part of the shard config, under `features.<name>` (absent: `{}` is parsed). */
  readonly config?: z.ZodType<C>;
  readonly migrations?: FeatureMigrations;
  services?(core: CoreServices, deps: FeatureDeps<C>): S;
  /** HTTP routes; admin routes register inside `adminRoutes(app, core, ...)` (one scoped auth hook). */
  routes?(app: FastifyInstance, services: S, core: CoreServices): void;
  /** WebSocket paths (exact pathnames) this feature answers; unknown paths get a 404. */
  readonly wsPaths?: Readonly<Record<string, WsHandler<S>>>;
  rpcMethods?(services: S): readonly RpcMethod[];
  onActive?(tenant: LifecycleTenant, services: S): Promise<void>;
  onInactive?(tenant: LifecycleTenant, reason: InactiveReason, services: S): Promise<void>;
  pinsResidency?(tenant: LifecycleTenant, services: S): boolean;
}

/** Identity function that lets TypeScript infer a feature's services and config types. */
export function defineFeature<S extends FeatureServices, C = unknown>(feature: ShardFeature<S, C>): ShardFeature<S, C> {
  return feature;
}

/** Services for a feature that has none of its own. */
export const NO_SERVICES: FeatureServices = Object.freeze({ close: () => undefined });

/** A feature with its services built: what buildApp and the lifecycle loop over. */
export interface BuiltFeature {
  readonly feature: ShardFeature;
  readonly services: FeatureServices;
}

/** Binds each feature's hooks to its services, in feature order (lifecycle calls them in that order). */
export function lifecycleHooksOf(built: readonly BuiltFeature[]): LifecycleHooks[] {
  const hooks: LifecycleHooks[] = [];
  for (const { feature: f, services: s } of built) {
    if (f.onActive === undefined && f.onInactive === undefined && f.pinsResidency === undefined) continue;
    hooks.push({
      name: f.name,
      ...(f.onActive === undefined ? {} : { onActive: (t: LifecycleTenant) => (f.onActive as NonNullable<ShardFeature['onActive']>)(t, s) }),
      ...(f.onInactive === undefined ? {} : { onInactive: (t: LifecycleTenant, r: InactiveReason) => (f.onInactive as NonNullable<ShardFeature['onInactive']>)(t, r, s) }),
      ...(f.pinsResidency === undefined ? {} : { pinsResidency: (t: LifecycleTenant) => (f.pinsResidency as NonNullable<ShardFeature['pinsResidency']>)(t, s) }),
    });
  }
  return hooks;
}
