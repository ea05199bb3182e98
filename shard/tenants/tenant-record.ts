// tenant.json: the tenant's identity, token hashes, ownership epoch and quotas (DESIGN §3).
import { z } from 'zod';
import { TENANT_ID_PATTERN } from '../../router/identity/tenant-id.ts';

const hexDigest = z.string().regex(/^[0-9a-f]{64}$/);

export const QuotaSchema = z
  .object({
    tokensPerDay: z.number().int().positive().optional(),
    tokensPerMonth: z.number().int().positive().optional(),
    usdPerDay: z.number().positive().optional(),
    usdPerMonth: z.number().positive().optional(),
    requestsPerMinute: z.number().int().positive().optional(),
    concurrentSessions: z.number().int().positive().optional(),
    diskBytes: z.number().int().positive().optional(),
  })
  .strict();
export type Quota = z.infer<typeof QuotaSchema>;

/** A quota patch: a field set to null removes that limit. */
const posInt = z.number().int().positive();
const posNum = z.number().positive();
export const QuotaPatchSchema = z
  .object({
    tokensPerDay: posInt.nullable().optional(),
    tokensPerMonth: posInt.nullable().optional(),
    usdPerDay: posNum.nullable().optional(),
    usdPerMonth: posNum.nullable().optional(),
    requestsPerMinute: posInt.nullable().optional(),
    concurrentSessions: posInt.nullable().optional(),
    diskBytes: posInt.nullable().optional(),
  })
  .strict();
export type QuotaPatch = z.infer<typeof QuotaPatchSchema>;

export const TokenHashSchema = z.object({
  hash: hexDigest,
  keyId: z.string().regex(/^[0-9a-f]{8}$/),
  createdAt: z.string(),
});

export const TenantRecordSchema = z.object({
  formatVersion: z.literal(1),
  id: z.string().regex(TENANT_ID_PATTERN),
  displayName: z.string().max(200),
  createdAt: z.string(),
  updatedAt: z.string(),
  disabled: z.boolean(),
  /** Ownership epoch: bumped by every committed move. */
  epoch: z.number().int().nonnegative(),
  /** 'frozen' survives a restart so a crashed move cannot silently thaw. */
  state: z.enum(['owned', 'frozen']),
  token: TokenHashSchema,
  previousToken: TokenHashSchema.extend({ notAfter: z.string() }).optional(),
  quota: QuotaSchema,
});
export type TenantRecord = z.infer<typeof TenantRecordSchema>;

/** What the control plane shows of a tenant (never the hashes). */
export interface TenantView {
  id: string;
  displayName: string;
  createdAt: string;
  updatedAt: string;
  disabled: boolean;
  epoch: number;
  state: 'owned' | 'frozen';
  quota: Quota;
  tokenKeyId: string;
  graceTokenKeyId?: string;
  graceUntil?: string;
  shard: string;
}

export function viewOf(rec: TenantRecord, shardId: string): TenantView {
  const view: TenantView = {
    id: rec.id,
    displayName: rec.displayName,
    createdAt: rec.createdAt,
    updatedAt: rec.updatedAt,
    disabled: rec.disabled,
    epoch: rec.epoch,
    state: rec.state,
    quota: rec.quota,
    tokenKeyId: rec.token.keyId,
    shard: shardId,
  };
  if (rec.previousToken !== undefined) {
    view.graceTokenKeyId = rec.previousToken.keyId;
    view.graceUntil = rec.previousToken.notAfter;
  }
  return view;
}
