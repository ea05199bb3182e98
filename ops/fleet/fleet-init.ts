// `fleet init`: a new fleet's blob store (the bucket made if asked) and its first, empty manifest,
// written create-only so that two operators (or a re-run) can never overwrite a live fleet's manifest.
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { AppError, isAppError } from '../../router/errors/app-error.ts';
import { openBlobStore, type OpenBlobStoreOptions } from '../../router/blob/open-blob-store.ts';
import { s3ClientConfig } from '../../router/blob/s3-blob-store.ts';
import { manifestStore } from '../../router/manifest/manifest-store.ts';

export interface FleetInitResult {
  readonly manifestUrl: string;
  readonly manifestVersion: number;
  /** 'created' | 'existed' when asked to create the bucket (or directory); 'not-asked' otherwise. */
  readonly bucket: 'created' | 'existed' | 'not-asked';
}

export async function initFleet(blobUrl: string, opts: { createBucket: boolean; open?: OpenBlobStoreOptions }): Promise<FleetInitResult> {
  const bucket = opts.createBucket ? await createContainer(blobUrl, opts.open) : 'not-asked';
  const blob = openBlobStore(blobUrl, opts.open);
  try {
    const manifests = manifestStore(blob);
    const existing = await manifests.read();
    if (existing !== null) throw new AppError('FLEET_EXISTS', { details: { manifest: manifests.url, version: existing.manifest.version } });
    try {
      // null expected = create-only (If-None-Match: *): a concurrent init loses with MANIFEST_CONFLICT.
      const snap = await manifests.write({ version: 1, shards: [], overrides: {} }, null);
      return { manifestUrl: manifests.url, manifestVersion: snap.manifest.version, bucket };
    } catch (err) {
      if (isAppError(err) && err.code === 'MANIFEST_CONFLICT') throw new AppError('FLEET_EXISTS', { details: { manifest: manifests.url }, cause: err });
      throw err;
    }
  } finally {
    await blob.close();
  }
}

/** The S3 bucket (or the file:// directory) of a blob URL; an existing one of ours is fine. */
async function createContainer(blobUrl: string, open: OpenBlobStoreOptions | undefined): Promise<'created' | 'existed'> {
  const u = new URL(blobUrl);
  if (u.protocol === 'file:') {
    const made = mkdirSync(fileURLToPath(u), { recursive: true });
    return made === undefined ? 'existed' : 'created';
  }
  // openBlobStore validates the URL (bucket name, parameters) before anything is sent.
  await openBlobStore(blobUrl, open).close();
  const endpoint = u.searchParams.get('endpoint') ?? undefined;
  const region = u.searchParams.get('region') ?? open?.defaultRegion ?? 'us-east-1';
  const client = new S3Client(
    s3ClientConfig({
      region,
      ...(endpoint === undefined ? {} : { endpoint }),
      forcePathStyle: u.searchParams.get('forcePathStyle') === null ? endpoint !== undefined : u.searchParams.get('forcePathStyle') === 'true',
      ...(open?.credentials === undefined ? {} : { credentials: open.credentials }),
    }),
  );
  try {
    await client.send(new CreateBucketCommand({ Bucket: u.hostname, ...(region === 'us-east-1' ? {} : { CreateBucketConfiguration: { LocationConstraint: region as never } }) }));
    return 'created';
  } catch (err) {
    const name = (err as { name?: string }).name;
    if (name === 'BucketAlreadyOwnedByYou') return 'existed';
    if (name === 'BucketAlreadyExists') throw new AppError('BLOB_IO', { message: `bucket ${u.hostname} exists and belongs to someone else`, cause: err });
    throw new AppError('BLOB_IO', { message: `could not create bucket ${u.hostname}: ${name ?? 'error'}`, cause: err });
  } finally {
    client.destroy();
  }
}
