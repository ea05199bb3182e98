// The ownership gate: owned passes and counts, frozen/moved refuse, drain waits, forget makes unknown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ownership } from './ownership.ts';
import { AppError } from '../../router/errors/app-error.ts';

test('frozen answers 503 with retry headers, moved 421 with owner and epoch, unknown passes as null', () => {
  const o = new Ownership({ frozenRetryAfterSeconds: 2 });
  o.set('a', { kind: 'frozen', epoch: 3 });
  assert.throws(() => o.enter('a'), (e: unknown) => e instanceof AppError && e.status === 503 && e.headers?.['retry-after'] === '2' && e.headers['x-openclawmu-frozen'] === '1');
  o.set('a', { kind: 'moved', owner: 's2', epoch: 4 });
  assert.throws(() => o.enter('a'), (e: unknown) => e instanceof AppError && e.status === 421 && e.headers?.['x-openclawmu-owner'] === 's2' && e.headers['x-openclawmu-epoch'] === '4');
  assert.equal(o.enter('nobody'), null);
});

test('drain resolves when the last in-flight request ends, or false at the timeout', async () => {
  const o = new Ownership({ frozenRetryAfterSeconds: 1 });
  o.set('a', { kind: 'owned', epoch: 1 });
  const r1 = o.enter('a');
  const r2 = o.enter('a');
  assert.equal(o.inflight('a'), 2);
  const drained = o.drain('a', 60_000);
  r1?.();
  r1?.(); // idempotent
  assert.equal(o.inflight('a'), 1);
  r2?.();
  assert.equal(await drained, true);
  const r3 = o.enter('a');
  assert.equal(await o.drain('a', 1), false);
  r3?.();
});

test('a tenant deleted with requests in flight becomes unknown at once and its entry goes when they end', () => {
  const o = new Ownership({ frozenRetryAfterSeconds: 1 });
  o.set('a', { kind: 'owned', epoch: 1 });
  const release = o.enter('a');
  o.forget('a');
  assert.equal(o.get('a'), undefined);
  assert.equal(o.enter('a'), null, 'unknown, not refused: auth answers 401');
  assert.equal(o.ownedCount(), 0);
  release?.();
  assert.equal(o.inflight('a'), 0);
  o.set('a', { kind: 'owned', epoch: 1 });
  assert.notEqual(o.enter('a'), null, 'a re-created tenant is served');
});
