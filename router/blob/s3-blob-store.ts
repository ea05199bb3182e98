// The s3:// blob store (AWS S3, MinIO, moto, s3rver): native conditional writes, or a lock-object fallback.
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { AppError, isAppError } from '../errors/app-error.ts';
import { assertBlobKey, assertBlobPrefix, isBlobKey } from './blob-key.ts';
import type { BlobObject, BlobStat, BlobStore, PutOptions, PutStreamOptions } from './blob-store.ts';
import { S3LockFallback } from './s3-lock.ts';

/**
 * How create-only / compare-and-swap writes are made atomic:
 * - `native`: `If-None-Match: *` / `If-Match` headers (AWS S3 since 2024, MinIO, moto).
 * - `lock`: a lock object with a lease around read-compare-write (servers that ignore the headers, e.g. s3rver).
 * - `auto` (default): probe once, on the first conditional write, whether the server honours `If-None-Match`.
 */
export type ConditionalWrites = 'native' | 'lock' | 'auto';

export interface S3BlobStoreOptions {
  readonly bucket: string;
  /** Key prefix inside the bucket, without leading or trailing '/'; '' for the bucket root. */
  readonly prefix: string;
  readonly region: string;
  readonly endpoint?: string;
  readonly forcePathStyle?: boolean;
  /** Explicit credentials; otherwise the SDK's default chain (env, profile, IMDS, ...). */
  readonly credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  readonly conditionalWrites?: ConditionalWrites;
  /** Multipart part size for putStream (bytes, >= 5 MiB). */
  readonly partSize?: number;
  readonly lockLeaseMs?: number;
  /** How long a writer waits for another writer's lock before BLOB_IO (lock mode only; default 15 s). */
  readonly lockWaitMs?: number;
  /** The URL to report (credentials never included). */
  readonly url: string;
}

interface SdkErrorShape {
  name?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

function statusOf(err: unknown): number | undefined {
  return (err as SdkErrorShape | undefined)?.$metadata?.httpStatusCode;
}

function isNotFound(err: unknown): boolean {
  const e = err as SdkErrorShape | undefined;
  // A missing bucket is a misconfiguration, not a missing object (it read as "no manifest yet").
  if (e?.name === 'NoSuchBucket' || e?.Code === 'NoSuchBucket') return false;
  return statusOf(err) === 404 || e?.name === 'NoSuchKey' || e?.name === 'NotFound';
}

/** What an operator must fix, named from the SDK's error (issue 17: a bare "The blob store failed." said nothing). */
export function blobFailureCause(err: unknown): 'no-such-bucket' | 'credentials' | 'endpoint-unreachable' | 'other' {
  const e = err as (SdkErrorShape & { code?: string; cause?: { code?: string } }) | undefined;
  const name = e?.name ?? e?.Code ?? '';
  const sys = e?.code ?? e?.cause?.code ?? '';
  if (name === 'NoSuchBucket') return 'no-such-bucket';
  if (/^(InvalidAccessKeyId|SignatureDoesNotMatch|AccessDenied|ExpiredToken|InvalidToken|CredentialsProviderError|UnrecognizedClientException)$/.test(name) || statusOf(err) === 403) return 'credentials';
  if (/^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|EHOSTUNREACH|ENETUNREACH)$/.test(sys) || name === 'TimeoutError') return 'endpoint-unreachable';
  return 'other';
}

const CAUSE_MESSAGE = {
  'no-such-bucket': 'The blob store failed: no such bucket (create it, or fix the bucket in the URL).',
  credentials: 'The blob store failed: the credentials were refused (check the access key, secret and region).',
  'endpoint-unreachable': 'The blob store failed: the endpoint did not answer (is it running? check endpoint= in the URL).',
  other: 'The blob store failed.',
} as const;

function io(op: string, key: string, err: unknown): AppError {
  if (isAppError(err)) return err;
  const e = err as SdkErrorShape | undefined;
  const reason = blobFailureCause(err);
  return new AppError('BLOB_IO', { message: CAUSE_MESSAGE[reason], details: { op, key, reason, status: statusOf(err) ?? null, name: e?.name ?? 'unknown' }, cause: err });
}

/** The S3 client configuration the store uses (exported so the aws-chunked trap test checks this exact config). */
export function s3ClientConfig(opts: Pick<S3BlobStoreOptions, 'region' | 'endpoint' | 'forcePathStyle' | 'credentials'>): S3ClientConfig {
  const config: S3ClientConfig = {
    region: opts.region,
    forcePathStyle: opts.forcePathStyle ?? false,
    ...(opts.credentials === undefined ? {} : { credentials: opts.credentials }),
  };
  if (opts.endpoint !== undefined) {
    // S3-compatible servers (s3rver) store aws-chunked framing as object bytes unless checksums are off.
    config.endpoint = opts.endpoint;
    config.requestChecksumCalculation = 'WHEN_REQUIRED';
    config.responseChecksumValidation = 'WHEN_REQUIRED';
  }
  return config;
}

export class S3BlobStore implements BlobStore {
  readonly url: string;
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #partSize: number;
  #mode: Promise<'native' | 'lock'> | undefined;
  readonly #lock: S3LockFallback;

  constructor(opts: S3BlobStoreOptions) {
    this.url = opts.url;
    this.#bucket = opts.bucket;
    this.#prefix = opts.prefix.replace(/^\/+|\/+$/g, '');
    this.#partSize = Math.max(opts.partSize ?? 8 * 1024 * 1024, 5 * 1024 * 1024);
    this.#client = new S3Client(s3ClientConfig(opts));
    if (opts.conditionalWrites === 'native' || opts.conditionalWrites === 'lock') this.#mode = Promise.resolve(opts.conditionalWrites);
    this.#lock = new S3LockFallback({
      client: this.#client,
      bucket: this.#bucket,
      fullKey: (k) => this.#full(k),
      leaseMs: opts.lockLeaseMs ?? 30_000,
      ...(opts.lockWaitMs === undefined ? {} : { waitMs: opts.lockWaitMs }),
    });
  }

  #full(key: string): string {
    return this.#prefix === '' ? key : `${this.#prefix}/${key}`;
  }

  /** Which conditional-write mode this server gets; probed once when configured `auto`. */
  conditionalMode(): Promise<'native' | 'lock'> {
    this.#mode ??= this.#probe().catch((err: unknown) => {
      this.#mode = undefined; // retry the probe next time rather than pinning a transient failure
      throw io('probe', '.blobstore/probe', err);
    });
    return this.#mode;
  }

  async #probe(): Promise<'native' | 'lock'> {
    const key = this.#full(`.blobstore/probe/${Date.now()}-${randomBytes(6).toString('hex')}`);
    await this.#client.send(new PutObjectCommand({ Bucket: this.#bucket, Key: key, Body: 'probe', IfNoneMatch: '*' }));
    try {
      await this.#client.send(new PutObjectCommand({ Bucket: this.#bucket, Key: key, Body: 'probe', IfNoneMatch: '*' }));
      return 'lock'; // the second create-only write succeeded: the server ignores If-None-Match
    } catch (err) {
      if (statusOf(err) === 412) return 'native';
      throw err;
    } finally {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: key })).catch(() => undefined);
    }
  }

  async get(key: string): Promise<BlobObject | null> {
    assertBlobKey(key);
    try {
      const res = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: this.#full(key) }));
      const body = Buffer.from((await res.Body?.transformToByteArray()) ?? new Uint8Array());
      return { body, etag: res.ETag ?? '' };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw io('get', key, err);
    }
  }

  async getIfChanged(key: string, etag: string | undefined): Promise<BlobObject | 'not-modified' | null> {
    assertBlobKey(key);
    try {
      const res = await this.#client.send(
        new GetObjectCommand({ Bucket: this.#bucket, Key: this.#full(key), ...(etag === undefined ? {} : { IfNoneMatch: etag }) }),
      );
      const body = Buffer.from((await res.Body?.transformToByteArray()) ?? new Uint8Array());
      // Some servers ignore If-None-Match on GET; compare ourselves too.
      if (etag !== undefined && res.ETag === etag) return 'not-modified';
      return { body, etag: res.ETag ?? '' };
    } catch (err) {
      if (statusOf(err) === 304) return 'not-modified';
      if (isNotFound(err)) return null;
      throw io('getIfChanged', key, err);
    }
  }

  async getStream(key: string): Promise<{ stream: Readable; size: number; etag: string } | null> {
    assertBlobKey(key);
    try {
      const res = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: this.#full(key) }));
      if (res.Body === undefined) throw new AppError('BLOB_IO', { details: { op: 'getStream', key, reason: 'no body' } });
      return { stream: res.Body as Readable, size: res.ContentLength ?? 0, etag: res.ETag ?? '' };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw io('getStream', key, err);
    }
  }

  async #headEtag(key: string): Promise<string | null> {
    try {
      const res = await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: this.#full(key) }));
      return res.ETag ?? '';
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  #preconditionError(key: string, opts: PutOptions, err: unknown): AppError | null {
    if (opts.ifMatch === undefined && opts.ifNoneMatch !== '*') return null;
    const status = statusOf(err);
    // If-Match on an absent key answers 404 NoSuchKey on AWS and moto: the precondition failed.
    if (status === 412 || status === 409 || (status === 404 && opts.ifMatch !== undefined)) {
      return opts.ifNoneMatch === '*'
        ? new AppError('BLOB_EXISTS', { details: { key }, cause: err })
        : new AppError('BLOB_PRECONDITION_FAILED', { details: { key }, cause: err });
    }
    return null;
  }

  async put(key: string, body: Buffer | string, opts: PutOptions = {}): Promise<{ etag: string }> {
    assertBlobKey(key);
    const conditional = opts.ifMatch !== undefined || opts.ifNoneMatch === '*';
    try {
      const mode = conditional ? await this.conditionalMode() : 'native';
      const send = async (withHeaders: boolean): Promise<{ etag: string }> => {
        const res = await this.#client.send(
          new PutObjectCommand({
            Bucket: this.#bucket,
            Key: this.#full(key),
            Body: typeof body === 'string' ? Buffer.from(body, 'utf8') : body,
            ...(opts.contentType === undefined ? {} : { ContentType: opts.contentType }),
            ...(withHeaders && opts.ifMatch !== undefined ? { IfMatch: opts.ifMatch } : {}),
            ...(withHeaders && opts.ifNoneMatch === '*' ? { IfNoneMatch: '*' } : {}),
          }),
        );
        return { etag: res.ETag ?? '' };
      };
      if (!conditional || mode === 'native') return await send(true);
      return await this.#lock.withLock(key, async () => {
        this.#checkPrecondition(key, opts, await this.#headEtag(key));
        return send(false);
      });
    } catch (err) {
      throw this.#preconditionError(key, opts, err) ?? io('put', key, err);
    }
  }

  #checkPrecondition(key: string, opts: PutOptions, current: string | null): void {
    if (opts.ifNoneMatch === '*' && current !== null) throw new AppError('BLOB_EXISTS', { details: { key } });
    if (opts.ifMatch !== undefined && current !== opts.ifMatch) throw new AppError('BLOB_PRECONDITION_FAILED', { details: { key } });
  }

  async putStream(key: string, body: Readable, opts: PutStreamOptions = {}): Promise<{ etag: string; size: number }> {
    assertBlobKey(key);
    const createOnly = opts.ifNoneMatch === '*';
    let size = 0;
    try {
      const mode = createOnly ? await this.conditionalMode() : 'native';
      const upload = async (withHeader: boolean): Promise<{ etag: string; size: number }> => {
        const up = new Upload({
          client: this.#client,
          partSize: this.#partSize,
          queueSize: 4,
          leavePartsOnError: false,
          params: {
            Bucket: this.#bucket,
            Key: this.#full(key),
            Body: body,
            ...(opts.contentType === undefined ? {} : { ContentType: opts.contentType }),
            ...(withHeader ? { IfNoneMatch: '*' } : {}),
          },
        });
        up.on('httpUploadProgress', (p) => {
          if (typeof p.loaded === 'number') {
            size = Math.max(size, p.loaded);
            opts.onProgress?.(size);
          }
        });
        const res = await up.done();
        const head = await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: this.#full(key) }));
        return { etag: res.ETag ?? head.ETag ?? '', size: head.ContentLength ?? size };
      };
      if (!createOnly || mode === 'native') {
        if (createOnly && (await this.#headEtag(key)) !== null) throw new AppError('BLOB_EXISTS', { details: { key } });
        return await upload(createOnly);
      }
      return await this.#lock.withLock(key, async () => {
        this.#checkPrecondition(key, { ifNoneMatch: '*' }, await this.#headEtag(key));
        return upload(false);
      });
    } catch (err) {
      body.destroy();
      throw this.#preconditionError(key, { ifNoneMatch: createOnly ? '*' : undefined }, err) ?? io('putStream', key, err);
    }
  }

  async stat(key: string): Promise<BlobStat | null> {
    assertBlobKey(key);
    try {
      const res = await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: this.#full(key) }));
      return { key, size: res.ContentLength ?? 0, etag: res.ETag ?? '', lastModified: res.LastModified ?? new Date(0) };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw io('stat', key, err);
    }
  }

  async delete(key: string): Promise<void> {
    assertBlobKey(key);
    try {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#full(key) }));
    } catch (err) {
      if (isNotFound(err)) return;
      throw io('delete', key, err);
    }
  }

  async list(prefix: string): Promise<BlobStat[]> {
    assertBlobPrefix(prefix);
    const base = this.#prefix === '' ? '' : `${this.#prefix}/`;
    const out: BlobStat[] = [];
    let token: string | undefined;
    try {
      do {
        const res = await this.#client.send(
          new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: base + prefix, ...(token === undefined ? {} : { ContinuationToken: token }) }),
        );
        for (const o of res.Contents ?? []) {
          const key = (o.Key ?? '').slice(base.length);
          if (!isBlobKey(key)) continue; // .blobstore bookkeeping and foreign objects
          out.push({ key, size: o.Size ?? 0, etag: o.ETag ?? '', lastModified: o.LastModified ?? new Date(0) });
        }
        token = res.IsTruncated === true ? res.NextContinuationToken : undefined;
      } while (token !== undefined);
    } catch (err) {
      throw io('list', prefix, err);
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async close(): Promise<void> {
    this.#client.destroy();
  }
}
