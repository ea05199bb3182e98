#!/usr/bin/env node
// `npm run loadtest`: runs every benchmark in turn (each prints its table and writes
// loadtest/results/<name>.json). Pass names to run only some: npm run loadtest -- router-overhead
import { spawnSync } from 'node:child_process';

const all = [
  ['router-overhead', []],
  ['gateway-overhead', []],
  ['snapshot-bench', []],
  ['move-frozen-time', []],
  ['memory-bench', []],
];
const wanted = process.argv.slice(2);
const chosen = wanted.length === 0 ? all : all.filter(([name]) => wanted.includes(name));
if (chosen.length === 0) {
  console.error(`unknown benchmark; choose from: ${all.map(([n]) => n).join(', ')}`);
  process.exit(2);
}
let failed = 0;
for (const [name, args] of chosen) {
  console.log(`\n=== ${name}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', new URL(`./${name}.ts`, import.meta.url).pathname, ...args], {
    stdio: 'inherit',
    env: { UV_THREADPOOL_SIZE: '16', ...process.env },
  });
  if (r.status !== 0) {
    failed++;
    console.error(`=== ${name} failed (exit ${r.status})`);
  }
}
process.exit(failed === 0 ? 0 : 1);
