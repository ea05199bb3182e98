// Blob keys: one validation for every store, so a key that works on file:// works on s3:// and back.
import { AppError } from '../errors/app-error.ts';

const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;
const MAX_KEY_LENGTH = 1024;

/**
 * Keys are '/'-separated segments of [A-Za-z0-9._-]. A segment may not start with '.', which
 * refuses '.' and '..' and keeps the file store's own bookkeeping (`.blobstore/`) out of the key space.
 */
export function isBlobKey(key: unknown): key is string {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) return false;
  return key.split('/').every((seg) => SEGMENT.test(seg));
}

export function assertBlobKey(key: unknown): string {
  if (!isBlobKey(key)) {
    throw new AppError('BLOB_KEY_INVALID', {
      details: { key: String(key).slice(0, 200) },
    });
  }
  return key;
}

/** A list prefix is empty, or a key, or a key followed by '/'. */
export function assertBlobPrefix(prefix: unknown): string {
  if (prefix === '') return '';
  if (typeof prefix === 'string') {
    const trimmed = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
    if (isBlobKey(trimmed)) return prefix;
  }
  throw new AppError('BLOB_KEY_INVALID', { message: 'Invalid blob key prefix.', details: { prefix: String(prefix).slice(0, 200) } });
}
