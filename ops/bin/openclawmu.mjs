#!/usr/bin/env node
// The development entry: runs the TypeScript sources through tsx (no build step). Tests, `npm run
// openclawmu` and the dev fleet started from a checkout use it; the package's bin is the compiled
// dist/ops/bin/openclawmu.js (docs/decisions.md, "Compiled JS in production").
process.env.UV_THREADPOOL_SIZE ??= '16';
const { register } = await import('tsx/esm/api');
register();
await import('./openclawmu.ts');
