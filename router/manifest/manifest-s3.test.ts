// The manifest on a real S3 protocol server (s3rver in-process, and moto_server when on PATH):
// compare-and-swap writes, conditional reads, and a poller keeping the last good copy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAppError } from '../errors/app-error.ts';
import { motoAvailable, startMoto, startS3rver, type RunningS3 } from '../blob/s3-test-servers.ts';
import { openManifestSource, openManifestStore } from './open-manifest-source.ts';
import { createManifestPoller } from './manifest-poller.ts';
import { MANIFEST_KEY } from './manifest-source.ts';

const servers: [string, () => Promise<RunningS3>][] = [['s3rver', startS3rver]];
if (motoAvailable()) servers.push(['moto', startMoto]);

for (const [name, start] of servers) {
  void test(`${name}: manifest CAS writes and conditional polling over s3://`, async (t) => {
    const s3 = await start();
    t.after(() => s3.close());
    await s3.createBucket('fleet-bucket');
    const url = `s3://fleet-bucket/prod?endpoint=${encodeURIComponent(s3.endpoint)}&region=us-east-1`;
    const { store, blobs } = openManifestStore(url, { credentials: s3.credentials });
    t.after(() => blobs.close());

    const v1 = await store.write({ version: 1, shards: [{ id: 's1', url: 'http://10.0.0.1:18800' }] }, null);
    await assert.rejects(store.write({ version: 1, shards: [] }, null), (e) => isAppError(e) && e.code === 'MANIFEST_CONFLICT');
    const v2 = await store.write({ version: 2, shards: [{ id: 's1', url: 'http://10.0.0.1:18800' }, { id: 's2', url: 'http://10.0.0.2:18800' }] }, v1);
    // A writer still holding v1's etag loses, and the stored manifest is v2.
    await assert.rejects(store.write({ version: 2, shards: [] }, v1), (e) => isAppError(e) && e.code === 'MANIFEST_CONFLICT');
    assert.deepEqual((await store.read())?.manifest, v2.manifest);

    const poller = createManifestPoller({ source: openManifestSource(url, { credentials: s3.credentials }), intervalMs: 3_600_000 });
    t.after(() => poller.close());
    await poller.start();
    assert.equal(poller.current()?.version, 2);
    const etag = poller.status().etag;
    await poller.refresh();
    assert.equal(poller.status().etag, etag, 'unchanged: a conditional read, same copy');

    // An invalid object is refused and the last good copy kept.
    await blobs.put(MANIFEST_KEY, '{"version": 3, "shards": [{"id": "BAD"}]}', { ifMatch: v2.etag });
    assert.equal((await poller.refresh())?.version, 2);
    assert.equal(poller.status().invalidTotal, 1);
  });
}
