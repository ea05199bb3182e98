// The router package's public entry: what shard and ops may import (DESIGN §1 dependency rule).
export * from './errors/codes.ts';
export * from './errors/app-error.ts';
export * from './identity/tenant-id.ts';
export type * from './blob/blob-store.ts';
export * from './blob/blob-key.ts';
export * from './blob/file-blob-store.ts';
export * from './blob/s3-blob-store.ts';
export * from './blob/open-blob-store.ts';
