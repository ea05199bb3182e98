// What a restarted dev fleet publishes: its own shards at their new URLs, hand-added shards kept,
// removed ones not put back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseManifest } from '../../router/manifest/manifest-schema.ts';
import { devManifestShards } from './dev-fleet.ts';

const procs = [
  { id: 's1', url: 'http://127.0.0.1:1001' },
  { id: 's2', url: 'http://127.0.0.1:1002' },
  { id: 's3', url: 'http://127.0.0.1:1003' },
];

test('first run: every dev shard, weight 1', () => {
  assert.deepEqual(devManifestShards(null, procs), procs.map((p) => ({ ...p, weight: 1 })));
});

test('restart: new URLs, weights and hand-added shards kept, removed dev shards not put back', () => {
  const current = parseManifest({
    version: 7,
    shards: [
      { id: 's1', url: 'http://127.0.0.1:9001', weight: 2 },
      { id: 's3', url: 'http://127.0.0.1:9003', weight: 1, draining: true },
      { id: 's4', url: 'http://127.0.0.1:9004', weight: 1 },
    ],
    overrides: {},
  });
  assert.deepEqual(devManifestShards(current, procs), [
    { id: 's1', url: 'http://127.0.0.1:1001', weight: 2 },
    { id: 's3', url: 'http://127.0.0.1:1003', weight: 1, draining: true },
    { id: 's4', url: 'http://127.0.0.1:9004', weight: 1 },
  ]);
});
