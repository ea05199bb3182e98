// Opens a BlobStore from its URL: file:///abs/dir or s3://bucket/prefix?endpoint=&region=&forcePathStyle=.
import { isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError } from '../errors/app-error.ts';
import type { BlobStore } from './blob-store.ts';
import { FileBlobStore } from './file-blob-store.ts';
import { S3BlobStore, type ConditionalWrites } from './s3-blob-store.ts';

export interface OpenBlobStoreOptions {
  /** Explicit S3 credentials (tests, CLI flags); otherwise the AWS SDK's default chain. */
  readonly credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Region when the URL names none (e.g. from AWS_REGION read by the entry point). Default us-east-1. */
  readonly defaultRegion?: string;
  /** Overrides `?conditional=` in the URL. */
  readonly conditionalWrites?: ConditionalWrites;
  readonly lockLeaseMs?: number;
  /** S3 lock mode: how long a writer waits for another's lock before BLOB_IO (default 15 s). */
  readonly lockWaitMs?: number;
  /** S3 multipart part size in bytes (>= 5 MiB; default 8 MiB). */
  readonly partSize?: number;
}

function invalid(reason: string): AppError {
  return new AppError('BLOB_URL_INVALID', { details: { reason } });
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const QUERY_KEYS = new Set(['endpoint', 'region', 'forcePathStyle', 'conditional']);

/** The URL with any userinfo and unknown parameters removed: safe to log and to show. */
function safeS3Url(bucket: string, prefix: string, params: URLSearchParams): string {
  const kept = new URLSearchParams();
  for (const k of [...QUERY_KEYS].sort()) {
    const v = params.get(k);
    if (v !== null) kept.set(k, v);
  }
  const q = kept.toString();
  return `s3://${bucket}/${prefix}${q === '' ? '' : `?${q}`}`;
}

export function openBlobStore(url: string, opts: OpenBlobStoreOptions = {}): BlobStore {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid('not a URL');
  }
  if (parsed.protocol === 'file:') {
    if (parsed.search !== '' || parsed.hash !== '') throw invalid('file:// URLs take no query or fragment');
    const dir = fileURLToPath(parsed);
    if (!isAbsolute(dir)) throw invalid('file:// needs an absolute path');
    return new FileBlobStore(dir, opts.lockLeaseMs === undefined ? {} : { lockLeaseMs: opts.lockLeaseMs });
  }
  if (parsed.protocol === 's3:') {
    if (parsed.username !== '' || parsed.password !== '') throw invalid('credentials do not belong in the blob URL');
    const bucket = parsed.hostname;
    if (!BUCKET.test(bucket)) throw invalid('bad bucket name');
    for (const k of parsed.searchParams.keys()) if (!QUERY_KEYS.has(k)) throw invalid(`unknown parameter ${k}`);
    const prefix = decodeURIComponent(parsed.pathname).replace(/^\/+|\/+$/g, '');
    if (prefix !== '' && !/^[A-Za-z0-9_-][A-Za-z0-9._-]*(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/.test(prefix)) throw invalid('bad prefix');
    const endpoint = parsed.searchParams.get('endpoint') ?? undefined;
    if (endpoint !== undefined) {
      let ep: URL;
      try {
        ep = new URL(endpoint);
      } catch {
        throw invalid('endpoint is not a URL');
      }
      if (ep.protocol !== 'http:' && ep.protocol !== 'https:') throw invalid('endpoint must be http(s)');
      if (ep.username !== '' || ep.password !== '') throw invalid('credentials do not belong in the endpoint');
    }
    const fps = parsed.searchParams.get('forcePathStyle');
    if (fps !== null && fps !== 'true' && fps !== 'false') throw invalid('forcePathStyle is true or false');
    const cond = opts.conditionalWrites ?? parsed.searchParams.get('conditional') ?? 'auto';
    if (cond !== 'auto' && cond !== 'native' && cond !== 'lock') throw invalid('conditional is auto, native or lock');
    return new S3BlobStore({
      url: safeS3Url(bucket, prefix, parsed.searchParams),
      bucket,
      prefix,
      region: parsed.searchParams.get('region') ?? opts.defaultRegion ?? 'us-east-1',
      ...(endpoint === undefined ? {} : { endpoint }),
      // Custom endpoints (MinIO, moto, s3rver) rarely do virtual-hosted buckets: path style unless told otherwise.
      forcePathStyle: fps === null ? endpoint !== undefined : fps === 'true',
      ...(opts.credentials === undefined ? {} : { credentials: opts.credentials }),
      conditionalWrites: cond,
      ...(opts.lockLeaseMs === undefined ? {} : { lockLeaseMs: opts.lockLeaseMs }),
      ...(opts.lockWaitMs === undefined ? {} : { lockWaitMs: opts.lockWaitMs }),
      ...(opts.partSize === undefined ? {} : { partSize: opts.partSize }),
    });
  }
  throw invalid(`unsupported scheme ${parsed.protocol}`);
}
