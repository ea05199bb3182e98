#!/usr/bin/env node
// The `openclawmu` command: loads the TypeScript CLI through tsx (no build step).

// Durable writes (fsync) run on libuv's thread pool; the default 4 threads make tenants queue behind
// each other's fsyncs. It must be set before the pool is first used, hence the dynamic imports.
process.env.UV_THREADPOOL_SIZE ??= '16';
const { register } = await import('tsx/esm/api');
register();
const { main } = await import('../cli.ts');
await main(process.argv);
