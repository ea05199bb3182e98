// The lock-object fallback for S3 servers without conditional writes: queue objects with a lease.
//
// Each contender writes its own object `.blobstore/locks/<base64url(key)>.<ts>-<rand>`, then lists
// that prefix; it holds the lock only if its object is the only live one, otherwise it withdraws
// (deletes its object) and retries after a random backoff. With read-after-write consistent
// listing (S3 since 2020) two contenders cannot both hold: whichever lists second sees the other.
// Objects older than the lease (server LastModified, against our own fresh object's LastModified,
// so client clock skew does not matter) were left by a crashed holder and are ignored and removed; a live holder renews its object every lease/3. Real S3, MinIO and moto
// honour `If-None-Match` / `If-Match` and never take this path. All lock objects share one folder
// that also holds a permanent `anchor` object: s3rver prunes a folder when its last object is
// deleted, and a put racing that prune crashes s3rver with an unhandled ENOENT.
import { DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { AppError } from '../errors/app-error.ts';

export interface S3LockOptions {
  readonly client: S3Client;
  readonly bucket: string;
  readonly fullKey: (key: string) => string;
  readonly leaseMs: number;
  readonly waitMs?: number;
  readonly now?: () => number;
}

function delay(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

export class S3LockFallback {
  readonly #o: S3LockOptions;
  #anchored: Promise<unknown> | undefined;

  constructor(opts: S3LockOptions) {
    this.#o = opts;
  }

  async withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const { client, bucket, leaseMs } = this.#o;
    const now = this.#o.now ?? Date.now;
    const dir = this.#o.fullKey('.blobstore/locks');
    this.#anchored ??= client.send(new PutObjectCommand({ Bucket: bucket, Key: `${dir}/anchor`, Body: 'lock folder anchor' }));
    await this.#anchored;
    const folder = `${dir}/${Buffer.from(key).toString('base64url')}.`;
    const deadline = now() + (this.#o.waitMs ?? 15_000);
    let wait = 5;
    for (;;) {
      const started = now();
      const mine = `${folder}${started.toString().padStart(15, '0')}-${randomBytes(6).toString('hex')}`;
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: mine, Body: JSON.stringify({ pid: process.pid }) }));
      const res = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: folder }));
      const contents = (res.Contents ?? []).filter((o) => o.Key !== undefined);
      // Ages are judged on the server's clock: our own object's LastModified is "now" there.
      const serverNow = contents.find((o) => o.Key === mine)?.LastModified?.getTime();
      const stale = (o: (typeof contents)[number]): boolean =>
        o.Key !== mine && serverNow !== undefined && o.LastModified !== undefined && serverNow - o.LastModified.getTime() >= leaseMs;
      const live = contents.filter((o) => !stale(o)).map((o) => o.Key as string);
      const held = live.length === 1 && live[0] === mine;
      for (const o of contents) {
        if (stale(o)) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: o.Key as string })).catch(() => undefined);
      }
      if (held) {
        // Renew the lease while the critical section runs (long multipart uploads).
        const renew = setInterval(() => {
          client.send(new PutObjectCommand({ Bucket: bucket, Key: mine, Body: JSON.stringify({ pid: process.pid }) })).catch(() => undefined);
        }, Math.max(1000, leaseMs / 3));
        renew.unref();
        try {
          return await fn();
        } finally {
          clearInterval(renew);
          await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: mine })).catch(() => undefined);
        }
      }
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: mine })).catch(() => undefined);
      if (now() > deadline) throw new AppError('BLOB_IO', { message: 'Timed out waiting for the blob lock of this key.', details: { key } });
      await delay(wait + Math.floor(Math.random() * wait));
      wait = Math.min(wait * 2, 200);
    }
  }
}
