// Fuzzing the restore path: random corruptions of a genuine snapshot (re-signed, as an attacker with bucket
// write access would) either restore exactly the original tree or are refused with a SNAPSHOT_* code;
// nothing is ever written outside the staging directory and the process never dies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { decompress } from 'zstd-napi';
import { isAppError, openBlobStore } from '../../router/index.ts';
import { stageRestore } from '../../shard/snapshot/snapshot-restore.ts';
import { writeSnapshot } from '../../shard/snapshot/snapshot-writer.ts';
import { parseSnapshotManifest } from '../../shard/snapshot/snapshot-manifest.ts';
import { publishSnapshot, zstd } from './craft-archive.ts';

void test('property: mutated archives (compressed or tar level) restore exactly or are refused with a SNAPSHOT_* code', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'ocm-fuzz-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const tenantDir = join(root, 'tenant');
  mkdirSync(join(tenantDir, 'sub'), { recursive: true });
  writeFileSync(join(tenantDir, 'a.txt'), 'alpha\n'.repeat(50));
  writeFileSync(join(tenantDir, 'sub', 'b.bin'), randomBytes(3000));
  const store = openBlobStore(pathToFileURL(join(root, 'blobs')).href);
  t.after(() => store.close());
  const snap = await writeSnapshot({ store, tenantId: 'fuzz', tenantDir, epoch: 1, scratchDir: join(root, 'scratch') });
  const archive = (await store.get(snap.key))?.body as Buffer;
  const manifest = parseSnapshotManifest((await store.get(snap.manifestKey))?.body ?? '');
  const tarBuf = Buffer.from(decompress(archive));
  const staging = join(root, 'staging');
  const outsideBefore = readdirSync(root).filter((n) => n !== 'staging' && n !== 'blobs').sort();

  const mutation = fc.record({
    level: fc.constantFrom('zstd', 'tar'),
    flips: fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 0, maxLength: 4 }),
    truncate: fc.option(fc.nat(), { nil: undefined }),
  });
  let refused = 0;
  await fc.assert(
    fc.asyncProperty(mutation, async (m) => {
      const base = Buffer.from(m.level === 'zstd' ? archive : tarBuf);
      for (const f of m.flips) base[f.at % base.length] = f.value;
      const cut = m.truncate === undefined ? base : base.subarray(0, m.truncate % (base.length + 1));
      const bytes = m.level === 'zstd' ? cut : zstd(cut);
      const key = await publishSnapshot(store, 'fuzz', bytes, m.level === 'zstd' ? manifest.archive.tarBytes : cut.length, [], {
        files: manifest.files,
        directories: manifest.directories,
        databases: manifest.databases,
      });
      try {
        const staged = await stageRestore({ store, key, stagingRoot: staging });
        // Accepted: then it is exactly the original tree (every file hash was checked).
        assert.deepEqual(readdirSync(staged.dir).sort(), ['a.txt', 'sub']);
        await staged.discard();
      } catch (err) {
        assert.ok(isAppError(err), `not an AppError: ${String(err)}`);
        assert.match(err.code, /^SNAPSHOT_/, `${err.code} ${err.message}`);
        refused++;
      }
      if (existsSync(staging)) assert.deepEqual(readdirSync(staging), []);
      assert.deepEqual(readdirSync(root).filter((n) => n !== 'staging' && n !== 'blobs').sort(), outsideBefore);
      await store.delete(key);
      await store.delete(key.replace(/\.tar\.zst$/, '.json'));
    }),
    { numRuns: 50 },
  );
  assert.ok(refused > 0, 'some mutations were refused');
});
