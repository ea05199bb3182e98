// The blob store interface: where snapshots, backups, move journals and the fleet manifest live.
// Implementations: file:// (default, dev fleets) and s3:// (AWS S3, MinIO, s3rver, moto).
import type { Readable } from 'node:stream';

export interface BlobObject {
  readonly body: Buffer;
  readonly etag: string;
}

export interface BlobStat {
  readonly key: string;
  readonly size: number;
  readonly etag: string;
  readonly lastModified: Date;
}

export interface PutOptions {
  /** Compare-and-swap: write only if the current object's ETag equals this (else BLOB_PRECONDITION_FAILED). */
  readonly ifMatch?: string;
  /** Create-only: write only if no object exists at the key (else BLOB_EXISTS). */
  readonly ifNoneMatch?: '*';
  readonly contentType?: string;
}

export interface PutStreamOptions {
  readonly ifNoneMatch?: '*';
  readonly contentType?: string;
  /** Called as bytes are sent (for progress output). */
  readonly onProgress?: (bytesSent: number) => void;
}

/**
 * Keys are '/'-separated relative paths of [A-Za-z0-9._-] segments (no '..', no leading '/').
 * Every method throws AppError with a BLOB_* code on failure (never a raw SDK error).
 */
export interface BlobStore {
  /** The URL this store was opened from (credentials never included). */
  readonly url: string;
  get(key: string): Promise<BlobObject | null>;
  /** Conditional GET: 'not-modified' when the object's ETag still equals `etag`. */
  getIfChanged(key: string, etag: string | undefined): Promise<BlobObject | 'not-modified' | null>;
  /** Streams the object; null when absent. */
  getStream(key: string): Promise<{ stream: Readable; size: number; etag: string } | null>;
  put(key: string, body: Buffer | string, opts?: PutOptions): Promise<{ etag: string }>;
  /** Streams a body of unknown length (multipart on S3); never buffers the whole object. */
  putStream(key: string, body: Readable, opts?: PutStreamOptions): Promise<{ etag: string; size: number }>;
  stat(key: string): Promise<BlobStat | null>;
  /** Deletes; absent keys are not an error. */
  delete(key: string): Promise<void>;
  /** Every object whose key starts with `prefix`, sorted by key. */
  list(prefix: string): Promise<BlobStat[]>;
  close(): Promise<void>;
}
