// The router package's public entry: what shard and ops may import (DESIGN §1 dependency rule).
export * from './errors/codes.ts';
export * from './errors/app-error.ts';
export * from './identity/tenant-id.ts';
