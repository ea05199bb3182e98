// The top-level help answers from FAMILIES' summaries without loading a family: they must say what
// each family's register function says, and --version must be the package's version.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { FAMILIES, buildProgram, summaryProgram } from './cli.ts';

const BIN = new URL('./bin/openclawmu.mjs', import.meta.url).pathname;

test('each family summary is the description its commands register', async () => {
  const full = await buildProgram();
  const registered = Object.fromEntries(full.commands.map((c) => [c.name(), c.description()]));
  const summaries = Object.fromEntries(Object.entries(FAMILIES).map(([name, f]) => [name, f.summary]));
  assert.deepEqual(summaries, registered);
  assert.deepEqual(summaryProgram().commands.map((c) => c.name()).sort(), Object.keys(registered).sort());
});

test('--version prints the version in package.json', () => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  assert.equal(execFileSync(process.execPath, [BIN, '--version'], { encoding: 'utf8' }).trim(), pkg.version);
});

test('`help shard` and `shard --help` show the shard options, including --admin-key-file', () => {
  for (const args of [['help', 'shard'], ['shard', '--help']]) {
    const out = execFileSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
    assert.match(out, /--admin-key-file <file>/);
    assert.match(out, /OPENCLAWMU_ADMIN_KEY/);
  }
});
