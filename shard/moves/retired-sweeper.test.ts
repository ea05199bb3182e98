// The data of moved-away tenants is deleted only after its grace period.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sweepRetired } from './retired-sweeper.ts';
import { tempDir } from '../../test/helpers/shard-fixture.ts';

test('retired tenant data older than the grace is removed; newer data stays', async (t) => {
  const dir = join(tempDir(t), 'retired');
  const now = Date.parse('2026-11-24T12:00:00Z');
  for (const [name, ageH] of [['old.1.aa', 30], ['new.2.bb', 2]] as const) {
    mkdirSync(join(dir, name), { recursive: true });
    writeFileSync(join(dir, name, 'tenant.json'), '{}');
    const when = new Date(now - ageH * 3_600_000);
    utimesSync(join(dir, name), when, when);
  }
  const removed = await sweepRetired(dir, 24 * 3_600_000, now);
  assert.deepEqual(removed, ['old.1.aa']);
  assert.ok(!existsSync(join(dir, 'old.1.aa')));
  assert.ok(existsSync(join(dir, 'new.2.bb')));
  assert.deepEqual(await sweepRetired(join(dir, 'missing'), 1, now), []);
});
