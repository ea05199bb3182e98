// Node 20, 22 and 24: the package declares all three, and so does every runtime dependency it ships.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import semver from 'semver';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  engines: { node: string };
  dependencies: Record<string, string>;
};
/** The oldest release of each line we support (20 also has undici's floor). */
const LINES = ['20.18.1', '22.12.0', '24.0.0'];

test('package.json engines admits Node 20, 22 and 24, and this runtime', () => {
  for (const v of LINES) assert.ok(semver.satisfies(v, pkg.engines.node), `${v} vs ${pkg.engines.node}`);
  assert.ok(semver.satisfies(process.versions.node, pkg.engines.node));
});

test("every runtime dependency's engines admits Node 20, 22 and 24", () => {
  const refused: string[] = [];
  for (const name of Object.keys(pkg.dependencies)) {
    // Read from node_modules: several packages' `exports` do not export their package.json.
    const dep = JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8')) as { engines?: { node?: string } };
    const range = dep.engines?.node;
    if (range === undefined) continue; // no declaration: no restriction
    for (const v of LINES) if (!semver.satisfies(v, range)) refused.push(`${name} (${range}) refuses ${v}`);
  }
  assert.deepEqual(refused, []);
});
