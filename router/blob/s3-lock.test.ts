// The S3 lock-object fallback: a live holder excludes others; a holder that crashed is ignored after its lease.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { utimesSync } from 'node:fs';
import { join } from 'node:path';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { isAppError } from '../errors/app-error.ts';
import { s3ClientConfig } from './s3-blob-store.ts';
import { S3LockFallback } from './s3-lock.ts';
import { startS3rver } from './s3-test-servers.ts';

void test('lock objects: a crashed holder blocks until its lease runs out, then is ignored and removed', async (t) => {
  const server = await startS3rver();
  t.after(() => server.close());
  await server.createBucket('locks');
  const client = new S3Client(s3ClientConfig({ endpoint: server.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: server.credentials }));
  t.after(() => client.destroy());
  const leaseMs = 30_000;
  const lock = (waitMs: number): S3LockFallback => new S3LockFallback({ client, bucket: 'locks', fullKey: (k) => `p/${k}`, leaseMs, waitMs });

  // A holder that died without releasing: its lock object stays behind.
  const dead = `p/.blobstore/locks/${Buffer.from('k').toString('base64url')}.000000000000001-deadbeef0000`;
  await client.send(new PutObjectCommand({ Bucket: 'locks', Key: dead, Body: '{}' }));
  let ran = false;
  await assert.rejects(
    lock(300).withLock('k', async () => {
      ran = true;
    }),
    (e: unknown) => isAppError(e) && e.code === 'BLOB_IO',
  );
  assert.equal(ran, false, 'a live (within lease) lock excludes others');

  // The lease runs out: age the dead holder's object on the server (s3rver's LastModified is the file's mtime).
  const old = new Date(Date.now() - leaseMs - 5000);
  utimesSync(join(server.directory as string, 'locks', `${dead}._S3rver_object`), old, old);
  assert.equal(await lock(2000).withLock('k', async () => 'ran'), 'ran');
  const left = await client.send(new ListObjectsV2Command({ Bucket: 'locks', Prefix: 'p/.blobstore/locks/' }));
  assert.deepEqual((left.Contents ?? []).map((o) => o.Key), ['p/.blobstore/locks/anchor'], 'the stale and our own lock objects are gone');

  // Mutual exclusion among live contenders: critical sections never overlap.
  let inside = 0;
  let maxInside = 0;
  await Promise.all(
    Array.from({ length: 5 }, () =>
      lock(15_000).withLock('k', async () => {
        inside++;
        maxInside = Math.max(maxInside, inside);
        await new Promise((r) => setImmediate(r));
        inside--;
      }),
    ),
  );
  assert.equal(maxInside, 1);
});
