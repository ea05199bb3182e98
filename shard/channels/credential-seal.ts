// Channel credentials at rest: AES-256-GCM under the fleet's secret keys (operator config), bound to
// (tenant, channel) as associated data so a sealed blob copied into another tenant does not open.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../../router/errors/app-error.ts';

export const SealKeySchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,15}$/, 'seal key ids match ^[a-z0-9][a-z0-9_-]{0,15}$'),
    /** 32 random bytes, base64. */
    key: z.string().refine((s) => Buffer.from(s, 'base64').length === 32, 'a seal key is 32 bytes, base64-encoded'),
  })
  .strict();

export const SealedSchema = z
  .object({
    v: z.literal(1),
    alg: z.literal('A256GCM'),
    kid: z.string(),
    iv: z.string(),
    tag: z.string(),
    ct: z.string(),
  })
  .strict();
export type Sealed = z.infer<typeof SealedSchema>;

/** The keys a shard can open with, and the one it seals with (rotation: add a key, make it active, reseal). */
export class SealKeyring {
  private readonly keys: ReadonlyMap<string, Buffer>;
  readonly activeKeyId: string;

  constructor(keys: readonly z.infer<typeof SealKeySchema>[], activeKeyId: string | undefined) {
    this.keys = new Map(keys.map((k) => [k.id, Buffer.from(k.key, 'base64')]));
    const active = activeKeyId ?? keys[0]?.id;
    if (active === undefined || !this.keys.has(active)) {
      throw new AppError('CHANNEL_SEAL_KEY_MISSING', { details: { keyId: active ?? null } });
    }
    this.activeKeyId = active;
  }

  seal(plaintext: Uint8Array, aad: string): Sealed {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key(this.activeKeyId), iv);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return { v: 1, alg: 'A256GCM', kid: this.activeKeyId, iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), ct: ct.toString('base64') };
  }

  open(sealed: Sealed, aad: string): Buffer {
    const decipher = createDecipheriv('aes-256-gcm', this.key(sealed.kid), Buffer.from(sealed.iv, 'base64'));
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
    try {
      return Buffer.concat([decipher.update(Buffer.from(sealed.ct, 'base64')), decipher.final()]);
    } catch (err) {
      throw new AppError('CHANNEL_CREDENTIALS_UNREADABLE', { details: { keyId: sealed.kid }, cause: err });
    }
  }

  /** True when the blob was sealed with a key other than the active one (reseal it on the next write). */
  isStale(sealed: Sealed): boolean {
    return sealed.kid !== this.activeKeyId;
  }

  private key(id: string): Buffer {
    const k = this.keys.get(id);
    if (k === undefined) throw new AppError('CHANNEL_SEAL_KEY_MISSING', { details: { keyId: id } });
    return k;
  }
}

/** The associated data that binds a sealed blob to one channel of one tenant. */
export function credentialAad(tenant: string, channel: string): string {
  return `openclawmu/channel-credentials/v1/${tenant}/${channel}`;
}

export function sealJson(ring: SealKeyring, value: unknown, aad: string): Sealed {
  return ring.seal(Buffer.from(JSON.stringify(value), 'utf8'), aad);
}

export function openJson(ring: SealKeyring, sealed: Sealed, aad: string): unknown {
  return JSON.parse(ring.open(sealed, aad).toString('utf8')) as unknown;
}
