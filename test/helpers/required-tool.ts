// A test that needs a system tool: skipped with the reason when it is missing here, failed in CI
// (CI=true), where .ci/run installs it.
import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';

export function hasTool(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/** True when `name` is on PATH; otherwise skips the test (or fails it in CI) and returns false. */
export function requireTool(t: TestContext, name: string, debianPackage: string): boolean {
  if (hasTool(name)) return true;
  const reason = `${name} is not installed (apt-get install ${debianPackage})`;
  if (process.env['CI'] === 'true') assert.fail(`${reason}; .ci/run installs it, so CI must have it`);
  t.skip(reason);
  return false;
}
