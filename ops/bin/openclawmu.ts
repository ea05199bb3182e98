#!/usr/bin/env node
// The `openclawmu` command's entry: compiled to dist/ops/bin/openclawmu.js (the package's bin).

// Durable writes (fsync) run on libuv's thread pool; the default 4 threads make tenants queue behind
// each other's fsyncs. It must be set before the pool is first used, hence the dynamic import.
process.env.UV_THREADPOOL_SIZE ??= '16';
const { main } = await import('../cli.ts');
await main(process.argv);
