// Archive entry validation as properties: an admitted path never resolves outside the extraction root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve, sep } from 'node:path';
import fc from 'fast-check';
import { isAppError } from '../../router/index.ts';
import { ArchivePolicy, DEFAULT_ARCHIVE_CAPS, pathProblem } from './archive-policy.ts';

const ROOT = '/srv/staging/restore-x/tree';
const segment = fc.oneof(
  fc.constantFrom('..', '.', '', 'a', 'b', '...', '..a', 'a..', '/', '\\', '\0', 'C:', '~'),
  fc.string({ minLength: 1, maxLength: 6 }),
);
const pathArb = fc.oneof(
  fc.array(segment, { minLength: 1, maxLength: 8 }).map((s) => s.join('/')),
  fc.array(segment, { minLength: 1, maxLength: 8 }).map((s) => `/${s.join('/')}`),
  fc.string({ maxLength: 40 }),
);

void test('property: any path pathProblem() accepts resolves strictly inside the root', () => {
  fc.assert(
    fc.property(pathArb, (p) => {
      if (pathProblem(p, 64) !== null) return;
      const abs = resolve(ROOT, p);
      assert.ok(abs.startsWith(ROOT + sep), `${JSON.stringify(p)} → ${abs}`);
    }),
    { numRuns: 5000 },
  );
});

void test('property: only File and Directory entries are ever admitted; everything else is refused with a code', () => {
  const types = fc.constantFrom('File', 'Directory', 'SymbolicLink', 'Link', 'CharacterDevice', 'BlockDevice', 'FIFO', 'ContiguousFile', 'OldFile', 'GNUDumpDir');
  fc.assert(
    fc.property(pathArb, types, fc.nat({ max: 10_000 }), (path, type, size) => {
      const policy = new ArchivePolicy(DEFAULT_ARCHIVE_CAPS, { files: new Map([[path.replace(/\/+$/, ''), size]]), directories: new Set([path.replace(/\/+$/, '')]) });
      try {
        const admitted = policy.admit({ path, type, size });
        assert.ok(type === 'File' || type === 'Directory');
        assert.ok(resolve(ROOT, admitted.path).startsWith(ROOT + sep));
      } catch (err) {
        assert.ok(isAppError(err), String(err));
        assert.match(err.code, /^SNAPSHOT_/);
      }
    }),
    { numRuns: 3000 },
  );
});

void test('known escapes are refused', () => {
  for (const p of ['../x', 'a/../../x', '/etc/passwd', '//etc/passwd', 'C:/x', 'C:..\\x', 'a\\..\\..\\x', 'a/\0/b', '', '.', './', 'a//b']) {
    assert.notEqual(pathProblem(p, 64), null, p);
  }
  assert.equal(pathProblem('state.db', 64), null);
  assert.equal(pathProblem('sandbox/dir/', 64), null);
  assert.equal(pathProblem(Array.from({ length: 65 }, () => 'a').join('/'), 64), 'too deep');
});
