// Constant-time comparison and HMAC helpers shared by the platform signature schemes.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { AppError } from '../../router/errors/app-error.ts';

/** Compares two strings in time independent of where they differ (digests have equal length). */
export function safeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a, 'utf8').digest();
  const db = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(da, db) && a.length === b.length;
}

export function hmacSha256Hex(secret: string, data: string | Buffer): string {
  return createHmac('sha256', secret).update(data).digest('hex');
}

export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('hex');
}

export function signatureInvalid(reason: 'missing' | 'mismatch' | 'stale'): AppError {
  return new AppError('CHANNEL_SIGNATURE_INVALID', { details: { reason } });
}

/** A timestamp (unix seconds) within `windowSeconds` of now, or a refusal. */
export function checkTimestamp(header: string | undefined, nowMs: number, windowSeconds: number): number {
  if (header === undefined || !/^\d{1,12}$/.test(header)) throw signatureInvalid('missing');
  const ts = Number(header);
  if (Math.abs(nowMs / 1000 - ts) > windowSeconds) throw signatureInvalid('stale');
  return ts;
}

export function parseJsonBody(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch (err) {
    throw new AppError('CHANNEL_PAYLOAD_INVALID', { message: 'The delivery body is not JSON.', cause: err });
  }
}
