// Credential sealing: round trip, binding to (tenant, channel), key rotation, tamper detection.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { isAppError } from '../../router/errors/app-error.ts';
import { SealKeyring, credentialAad, openJson, sealJson } from './credential-seal.ts';

const k = (id: string) => ({ id, key: randomBytes(32).toString('base64') });

void test('sealed credentials open only with the same tenant and channel, and hold no clear text', () => {
  const ring = new SealKeyring([k('k1')], 'k1');
  const creds = { botToken: '123456:AAH-secret-token-value' };
  const sealed = sealJson(ring, creds, credentialAad('acme', 'tg'));
  assert.ok(!JSON.stringify(sealed).includes('secret-token-value'));
  assert.deepEqual(openJson(ring, sealed, credentialAad('acme', 'tg')), creds);
  for (const aad of [credentialAad('other', 'tg'), credentialAad('acme', 'tg2')]) {
    assert.throws(() => openJson(ring, sealed, aad), (e: unknown) => isAppError(e) && e.code === 'CHANNEL_CREDENTIALS_UNREADABLE');
  }
});

void test('rotation: a new active key seals; blobs under the old key still open and are marked stale', () => {
  const old = k('k1');
  const ring1 = new SealKeyring([old], 'k1');
  const sealed = sealJson(ring1, { a: 1 }, 'aad');
  const ring2 = new SealKeyring([old, k('k2')], 'k2');
  assert.deepEqual(openJson(ring2, sealed, 'aad'), { a: 1 });
  assert.equal(ring2.isStale(sealed), true);
  const resealed = sealJson(ring2, openJson(ring2, sealed, 'aad'), 'aad');
  assert.equal(resealed.kid, 'k2');
  assert.equal(ring2.isStale(resealed), false);
  const ring3 = new SealKeyring([k('k2')], 'k2');
  assert.throws(() => openJson(ring3, sealed, 'aad'), (e: unknown) => isAppError(e) && e.code === 'CHANNEL_SEAL_KEY_MISSING');
});

void test('a flipped bit in the ciphertext or tag is refused', () => {
  const ring = new SealKeyring([k('k1')], undefined);
  const sealed = sealJson(ring, { a: 'b' }, 'aad');
  const ct = Buffer.from(sealed.ct, 'base64');
  ct[0] = (ct[0] ?? 0) ^ 1;
  assert.throws(() => openJson(ring, { ...sealed, ct: ct.toString('base64') }, 'aad'));
  const tag = Buffer.from(sealed.tag, 'base64');
  tag[3] = (tag[3] ?? 0) ^ 1;
  assert.throws(() => openJson(ring, { ...sealed, tag: tag.toString('base64') }, 'aad'));
});

void test('a keyring without the named active key refuses to start', () => {
  assert.throws(() => new SealKeyring([], undefined), (e: unknown) => isAppError(e) && e.code === 'CHANNEL_SEAL_KEY_MISSING');
  assert.throws(() => new SealKeyring([k('k1')], 'k9'));
});
