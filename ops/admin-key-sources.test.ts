// Admin keys from flags, files and OPENCLAWMU_ADMIN_KEY: all of them, in order; bad files are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectAdminKeys } from './admin-key-sources.ts';

const k = (n: number): string => `ak_${String(n).repeat(32)}`;

test('flags, then each file (comments and blank lines ignored), then the environment', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ocmu-keys-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'keys');
  writeFileSync(file, `# ops team\n${k(2)}\n\n${k(3)}  # rotated in June\n`, { mode: 0o600 });
  const warnings: string[] = [];
  const keys = collectAdminKeys({ flags: [k(1)], files: [file], env: `${k(4)}, ${k(5)}` }, (m) => warnings.push(m));
  assert.deepEqual(keys, [k(1), k(2), k(3), k(4), k(5)]);
  assert.deepEqual(warnings, []);
});

test('a key file others can read is used, with a warning; an empty or missing one is refused', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ocmu-keys-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const open = join(dir, 'open');
  writeFileSync(open, `${k(1)}\n`, { mode: 0o644 });
  const warnings: string[] = [];
  assert.deepEqual(collectAdminKeys({ flags: [], files: [open], env: undefined }, (m) => warnings.push(m)), [k(1)]);
  assert.equal(warnings.length, 1);
  const empty = join(dir, 'empty');
  writeFileSync(empty, '# nothing\n', { mode: 0o600 });
  assert.throws(() => collectAdminKeys({ flags: [], files: [empty], env: undefined }, () => {}), { code: 'CONFIG_INVALID' });
  assert.throws(() => collectAdminKeys({ flags: [], files: [join(dir, 'missing')], env: undefined }, () => {}), { code: 'CONFIG_INVALID' });
});
