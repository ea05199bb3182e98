// The audit record and its hash: hash = sha256(prev ‖ JCS(record without hash)) (DESIGN §8).
import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.ts';

export const GENESIS_HASH = '0'.repeat(64);

export interface AuditActor {
  type: 'admin' | 'tenant' | 'system';
  /** First 8 hex of the credential's SHA-256; never the credential. */
  keyId?: string;
  /** A tenant's previous token used inside its rotation grace period (it may not change credentials). */
  grace?: true;
}

export interface AuditInput {
  tenant: string | null;
  actor: AuditActor;
  action: string;
  target?: string;
  outcome: 'ok' | 'error' | 'denied';
  requestId?: string;
  details?: Record<string, unknown>;
}

export interface AuditRecord extends AuditInput {
  v: 1;
  seq: number;
  ts: string;
  prev: string;
  hash: string;
}

export function hashRecord(rec: Omit<AuditRecord, 'hash'>): string {
  return createHash('sha256').update(rec.prev).update(canonicalJson(rec)).digest('hex');
}
