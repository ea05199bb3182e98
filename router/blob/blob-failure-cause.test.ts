// BLOB_IO names what the operator must fix (issue 17): no such bucket, refused credentials, an
// endpoint that does not answer; against a real S3 protocol server and a port with nobody on it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { isAppError } from '../errors/app-error.ts';
import { openBlobStore } from './open-blob-store.ts';
import { startS3rver } from './s3-test-servers.ts';

async function failureOf(url: string, credentials: { accessKeyId: string; secretAccessKey: string }): Promise<{ code: string; message: string; reason: unknown }> {
  const store = openBlobStore(url, { credentials, conditionalWrites: 'lock' });
  try {
    await store.get('fleet/manifest.json');
    throw new Error('expected a failure');
  } catch (err) {
    assert.ok(isAppError(err), String(err));
    return { code: err.code, message: err.message, reason: err.details?.['reason'] };
  } finally {
    await store.close();
  }
}

void test('regression issue 17: BLOB_IO says no such bucket, credentials refused, or endpoint down', async (t) => {
  const s3 = await startS3rver();
  t.after(() => s3.close());
  await s3.createBucket('present');
  const missing = await failureOf(`s3://absent-bucket/p?endpoint=${encodeURIComponent(s3.endpoint)}`, s3.credentials);
  assert.deepEqual([missing.code, missing.reason], ['BLOB_IO', 'no-such-bucket']);
  assert.match(missing.message, /no such bucket/);
  const refused = await failureOf(`s3://present/p?endpoint=${encodeURIComponent(s3.endpoint)}`, { accessKeyId: 'WRONG', secretAccessKey: 'WRONG' });
  assert.deepEqual([refused.code, refused.reason], ['BLOB_IO', 'credentials']);
  assert.match(refused.message, /credentials/);
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const dead = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const down = await failureOf(`s3://present/p?endpoint=${encodeURIComponent(`http://127.0.0.1:${dead}`)}`, s3.credentials);
  assert.deepEqual([down.code, down.reason], ['BLOB_IO', 'endpoint-unreachable']);
  assert.match(down.message, /did not answer/);
});
