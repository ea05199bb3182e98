// Path containment: nothing resolves outside the tenant root, for any input (DESIGN §3).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join, sep } from 'node:path';
import fc from 'fast-check';
import { resolveInside, tenantDir } from './tenant-paths.ts';
import { AppError } from '../../router/errors/app-error.ts';
import { tempDir } from '../../test/helpers/shard-fixture.ts';

const segment = fc.oneof(
  fc.constantFrom('..', '.', '', 'a', 'b', 'link', 'dir', '...', '..a', 'a..', '\0', '/', '\\', '%2e%2e', '~', 'C:'),
  fc.string({ maxLength: 6 }),
);
const relPath = fc.array(segment, { maxLength: 8 }).map((segs) => segs.join('/'));
const anyPath = fc.oneof(relPath, relPath.map((p) => `/${p}`), fc.string(), fc.constantFrom('/etc/passwd', '../b/x', 'a/../../b', 'dir/link/x', 'link'));

test('resolveInside never returns a path outside the root (property, with planted symlinks)', (t) => {
  const base = tempDir(t);
  const root = join(base, 'tenants', 'a');
  const other = join(base, 'tenants', 'ab'); // a sibling whose name starts with the root's name
  mkdirSync(join(root, 'dir'), { recursive: true });
  mkdirSync(other, { recursive: true });
  symlinkSync('/etc', join(root, 'link'));
  symlinkSync(other, join(root, 'dir', 'link'));
  fc.assert(
    fc.property(anyPath, (p) => {
      let out: string;
      try {
        out = resolveInside(root, p);
      } catch (err) {
        assert.ok(err instanceof AppError && err.code === 'SHARD_PATH_ESCAPE', String(err));
        return;
      }
      assert.ok(out === root || out.startsWith(root + sep), `${JSON.stringify(p)} → ${out}`);
      assert.ok(!out.startsWith(other), `${JSON.stringify(p)} reached the sibling`);
    }),
    { numRuns: 5000 },
  );
});

test('specific escapes are refused: .., absolute, NUL, backslash, symlinks anywhere on the path', (t) => {
  const root = tempDir(t);
  mkdirSync(join(root, 'd'));
  symlinkSync('/etc', join(root, 'd', 'l'));
  for (const p of ['..', '../x', 'a/../../x', '/etc/passwd', 'a\0b', 'a\\..\\b', 'd/l', 'd/l/passwd']) {
    assert.throws(() => resolveInside(root, p), (e: unknown) => e instanceof AppError && e.code === 'SHARD_PATH_ESCAPE', p);
  }
  assert.equal(resolveInside(root, 'd/new/file.txt'), join(root, 'd', 'new', 'file.txt'));
  assert.equal(resolveInside(root, ''), root);
});

test('tenantDir validates the id, so it is always one level under tenants/', (t) => {
  const base = tempDir(t);
  assert.equal(tenantDir(base, 'acme'), join(base, 'tenants', 'acme'));
  for (const bad of ['..', '../x', 'a/b', '', 'A']) assert.throws(() => tenantDir(base, bad), /Tenant ids/);
});
