// Builds the features of a shard in list order: validates each one's config part, then calls its
// services() with the core and the services of the features listed before it.
import { AppError } from '../../router/errors/app-error.ts';
import { configError } from '../config/shard-config.ts';
import type { BuiltFeature, CoreServices, FeatureServices, ShardFeature } from './shard-feature.ts';
import { NO_SERVICES } from './shard-feature.ts';

const FEATURE_NAME = /^[a-z][a-z0-9-]{0,31}$/;

/** Each feature's validated config part (`features.<name>` of the shard config), frozen. */
export function featureConfigs(features: readonly ShardFeature[], raw: Readonly<Record<string, unknown>>): Map<ShardFeature, unknown> {
  const names = new Set<string>();
  for (const f of features) {
    if (!FEATURE_NAME.test(f.name)) throw new Error(`feature name '${f.name}' must match ${FEATURE_NAME.source}`);
    if (names.has(f.name)) throw new Error(`feature '${f.name}' is listed twice`);
    names.add(f.name);
  }
  for (const key of Object.keys(raw)) {
    const f = features.find((x) => x.name === key);
    if (f === undefined || f.config === undefined) {
      throw new AppError('CONFIG_INVALID', { message: `features.${key}: no feature of that name takes config`, details: { field: `features.${key}` } });
    }
  }
  const out = new Map<ShardFeature, unknown>();
  for (const f of features) {
    if (f.config === undefined) continue;
    const res = f.config.safeParse(raw[f.name] ?? {});
    if (!res.success) throw configError(res.error, `features.${f.name}`);
    out.set(f, Object.freeze(res.data));
  }
  return out;
}

/** Calls every feature's services() in order; on a failure, closes what was built and rethrows. */
export function buildFeatures(features: readonly ShardFeature[], core: CoreServices, configs: ReadonlyMap<ShardFeature, unknown>): BuiltFeature[] {
  const built: BuiltFeature[] = [];
  const byFeature = new Map<ShardFeature, FeatureServices>();
  try {
    for (const feature of features) {
      const services =
        feature.services?.(core, {
          config: configs.get(feature),
          servicesOf<T extends FeatureServices>(dep: ShardFeature<T>): T {
            const s = byFeature.get(dep as ShardFeature);
            if (s === undefined) throw new Error(`feature '${feature.name}' needs feature '${dep.name}' listed before it in features.ts`);
            return s as T;
          },
          optionalServicesOf<T extends FeatureServices>(dep: ShardFeature<T>): T | undefined {
            return byFeature.get(dep as ShardFeature) as T | undefined;
          },
        }) ?? NO_SERVICES;
      byFeature.set(feature, services);
      built.push({ feature, services });
    }
  } catch (err) {
    for (const b of built.reverse()) void Promise.resolve(b.services.close()).catch(() => undefined);
    throw err;
  }
  return built;
}
