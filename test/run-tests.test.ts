// The test runner refuses to report success for an empty list or a run that executed no test
// (node --test on Node 20 does not expand globs, so the list is built explicitly: DESIGN §10).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './helpers/shard-fixture.ts';

const runner = new URL('./run-tests.mjs', import.meta.url).pathname;

test('an empty test list fails', (t) => {
  const root = tempDir(t);
  mkdirSync(join(root, 'test'));
  const r = spawnSync(process.execPath, [runner], { env: { ...process.env, RUN_TESTS_ROOT: root }, encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /the test list is empty/);
});

test('a run that executes no test fails', (t) => {
  const root = tempDir(t);
  mkdirSync(join(root, 'test'));
  writeFileSync(join(root, 'test', 'nothing.test.ts'), '// no tests here\nexport {};\n');
  const r = spawnSync(process.execPath, [runner], { cwd: new URL('..', import.meta.url).pathname, env: { ...process.env, RUN_TESTS_ROOT: root }, encoding: 'utf8' });
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /executed no tests/);
});
