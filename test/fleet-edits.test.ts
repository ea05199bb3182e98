// Fleet edits refuse what would break the fleet, and two rebalances cannot share the journal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAppError } from '../router/errors/app-error.ts';
import { addShard, drainShard } from '../ops/fleet/fleet-edits.ts';
import { JournalWriter, type Journal } from '../ops/fleet/move-journal.ts';
import { startTestFleet } from './helpers/fleet-fixture.ts';

const code = (c: string) => (e: unknown) => isAppError(e) && e.code === c;

test('add-shard checks the shard answers as that id and is new; remove-shard keeps one placeable shard', { timeout: 60_000 }, async (t) => {
  const fleet = await startTestFleet(t, { shards: 1 });
  const s1 = fleet.shards.get('s1');
  assert.ok(s1 !== undefined);
  await assert.rejects(addShard(fleet.blob, fleet.adminKey, { id: 's9', url: s1.url, weight: 1 }), code('VALIDATION_FAILED'), 'the URL answers as s1, not s9');
  await assert.rejects(addShard(fleet.blob, fleet.adminKey, { id: 's1', url: s1.url, weight: 1 }), code('FLEET_SHARD_EXISTS'));
  await assert.rejects(drainShard(fleet.blob, fleet.adminKey, 's1'), code('VALIDATION_FAILED'), 'the last placeable shard');
  await assert.rejects(drainShard(fleet.blob, fleet.adminKey, 'nope'), code('FLEET_SHARD_NOT_FOUND'));
});

test('a second rebalance cannot take over a journal another one holds (MOVE_CONFLICT)', { timeout: 60_000 }, async (t) => {
  const fleet = await startTestFleet(t, { shards: 1 });
  const journal = (id: string): Journal => ({ id, createdAt: new Date().toISOString(), reason: 'test', finished: false, moves: [] });
  const first = await JournalWriter.start(fleet.blob, journal('a'), null);
  await assert.rejects(JournalWriter.start(fleet.blob, journal('b'), null), code('MOVE_CONFLICT'));
  const read = await JournalWriter.read(fleet.blob);
  assert.ok(read !== null);
  const other = JournalWriter.resume(fleet.blob, read.journal, read.etag);
  await other.finish();
  await assert.rejects(first.finish(), code('MOVE_CONFLICT'), 'the first writer lost its compare-and-swap');
});
