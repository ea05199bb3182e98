#!/usr/bin/env node
// Runs the test suite: lists every *.test.ts explicitly (node --test on Node 20 does not expand
// globs), fails on an empty list, and fails when the runner reports zero executed tests.
// Usage: npm test                 — the whole suite
//        npm test -- <file> ...   — only these files
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { availableParallelism } from 'node:os';

// RUN_TESTS_ROOT points the runner at another tree (its own test uses an empty one).
const root = process.env.RUN_TESTS_ROOT ?? new URL('..', import.meta.url).pathname;
const roots = ['router', 'shard', 'ops', 'test'].filter((r) => existsSync(join(root, r)));

function collect(dir, out) {
  for (const name of readdirSync(dir).sort()) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) collect(p, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

const requested = process.argv.slice(2);
const files = requested.length > 0 ? requested : roots.flatMap((r) => collect(join(root, r), []));
if (files.length === 0) {
  console.error('run-tests: the test list is empty; refusing to report success');
  process.exit(1);
}
console.log(`run-tests: ${files.length} test files`);

const concurrency = Math.max(1, Math.min(availableParallelism(), 2));
const args = [
  '--import', import.meta.resolve('tsx'),
  '--test',
  `--test-concurrency=${concurrency}`,
  '--test-timeout=180000',
  '--test-reporter=spec',
  ...files,
];
// Shards fsync on the libuv thread pool; 4 threads (the default) queue fsyncs behind each other.
const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], env: { UV_THREADPOOL_SIZE: '16', ...process.env, OPENCLAWMU_TEST: '1' } });
let tail = '';
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  tail = (tail + chunk.toString('utf8')).slice(-4000);
});
child.on('close', (code) => {
  const m = /ℹ tests (\d+)/.exec(tail);
  const pass = /ℹ pass (\d+)/.exec(tail);
  const fail = /ℹ fail (\d+)/.exec(tail);
  const skipped = /ℹ skipped (\d+)/.exec(tail);
  const cancelled = /ℹ cancelled (\d+)/.exec(tail);
  if (m === null || Number(m[1]) === 0) {
    console.error('run-tests: the runner executed no tests; failing');
    process.exit(1);
  }
  // Cancelled tests (a hung promise, a timeout) count as failed.
  const failed = Number(fail?.[1] ?? 0) + Number(cancelled?.[1] ?? 0);
  console.log(`${pass?.[1] ?? 0} passed, ${failed} failed, ${skipped?.[1] ?? 0} skipped`);
  process.exit(code ?? 1);
});
