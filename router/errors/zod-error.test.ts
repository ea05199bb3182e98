// The one zod → AppError conversion: field paths, root labels, message forms, bounded details.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { appErrorFromZod, parseWith } from './zod-error.ts';

const Schema = z.object({ name: z.string().max(3), n: z.number() }).strict();

void test('names every failing field for requests, the first one for config files', () => {
  const bad = Schema.safeParse({ name: 'toolong', n: 'x' });
  assert.equal(bad.success, false);
  if (bad.success) return;
  const req = appErrorFromZod(bad.error, { code: 'VALIDATION_FAILED', prefix: 'Invalid request', root: '(body)' });
  assert.equal(req.code, 'VALIDATION_FAILED');
  assert.match(req.message, /^Invalid request: name: .+; n: .+$/);
  assert.deepEqual((req.details?.['issues'] as { field: string }[]).map((i) => i.field), ['name', 'n']);
  assert.equal(req.details?.['field'], 'name');
  const cfg = appErrorFromZod(bad.error, { code: 'CONFIG_INVALID', prefix: 'shard.yaml', list: 'first', details: { source: 'shard.yaml' } });
  assert.match(cfg.message, /^shard\.yaml: name: [^;]+$/);
  assert.equal(cfg.details?.['source'], 'shard.yaml');
});

void test('a value that is wrong as a whole is named by the root label; details stay bounded', () => {
  assert.throws(() => parseWith(Schema, 'not an object', { code: 'VALIDATION_FAILED', prefix: 'Invalid params for x', root: '(params)' }), (err: { message: string; details: { field: string } }) => {
    assert.match(err.message, /^Invalid params for x: \(params\): /);
    assert.equal(err.details.field, '(params)');
    return true;
  });
  const Many = z.array(z.number()).max(10_000);
  const res = Many.safeParse(Array.from({ length: 5000 }, () => 'x'));
  assert.equal(res.success, false);
  if (res.success) return;
  const e = appErrorFromZod(res.error, { code: 'VALIDATION_FAILED', prefix: 'Invalid request' });
  assert.equal((e.details?.['issues'] as unknown[]).length, 20);
});
