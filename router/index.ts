// The router package's public entry: what shard and ops may import (DESIGN §1 dependency rule).
export * from './errors/codes.ts';
export * from './errors/app-error.ts';
export * from './identity/tenant-id.ts';
export * from './identity/snapshot-key.ts';
export { REQUEST_ID_PATTERN, requestIdOf } from './core/request-id.ts';
export type * from './blob/blob-store.ts';
export * from './blob/blob-key.ts';
export * from './blob/file-blob-store.ts';
export * from './blob/s3-blob-store.ts';
export * from './blob/open-blob-store.ts';
export * from './placement/rendezvous.ts';
export * from './manifest/manifest-schema.ts';
export type * from './manifest/manifest-source.ts';
export { MANIFEST_KEY } from './manifest/manifest-source.ts';
export * from './manifest/manifest-store.ts';
export * from './manifest/open-manifest-source.ts';
export { startRouter, type RunningRouter } from './node/start-router.ts';
export { loadRouterConfig, parseRouterConfig, type RouterConfig } from './node/router-config.ts';
