// The Workers S3 manifest source signs its GET exactly as the AWS SDK's SigV4 signer does, and reads,
// revalidates and refuses like every other manifest source.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { s3FetchManifestSource } from './s3-fetch-manifest-source.ts';
import { serializeManifest, parseManifest } from '../manifest/manifest-schema.ts';

type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytesOf = (d: SourceData): string | Uint8Array => (typeof d === 'string' ? d : d instanceof ArrayBuffer ? new Uint8Array(d) : new Uint8Array(d.buffer, d.byteOffset, d.byteLength));

/** The hash constructor the SDK signer takes (sha256, or HMAC-sha256 when given a secret). */
class Sha256 {
  private readonly h: Hash | Hmac;
  constructor(secret?: SourceData) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', bytesOf(secret));
  }
  update(data: SourceData): void {
    this.h.update(bytesOf(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.h.digest()));
  }
}

const creds = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const at = new Date('2026-11-29T15:04:05.123Z');
const manifestText = serializeManifest(parseManifest({ version: 3, shards: [{ id: 's1', url: 'http://127.0.0.1:1', weight: 1 }] }));

async function expectedAuthorization(url: URL): Promise<string> {
  const signer = new SignatureV4({ service: 's3', region: 'eu-west-1', credentials: creds, sha256: Sha256, uriEscapePath: false, applyChecksum: false });
  const signed = await signer.sign(
    { method: 'GET', protocol: url.protocol, hostname: url.hostname, port: url.port === '' ? undefined : Number(url.port), path: url.pathname, query: {}, headers: { host: url.host, 'x-amz-content-sha256': createHash('sha256').digest('hex') } },
    { signingDate: at },
  );
  return signed.headers['authorization'] as string;
}

for (const [name, blobUrl, wanted] of [
  ['a custom endpoint, path style', 's3://fleet-bucket/prod/eu?region=eu-west-1&endpoint=http%3A%2F%2F127.0.0.1%3A9000', 'http://127.0.0.1:9000/fleet-bucket/prod/eu/fleet/manifest.json'],
  ['AWS itself, virtual-hosted', 's3://fleet-bucket/prod?region=eu-west-1', 'https://fleet-bucket.s3.eu-west-1.amazonaws.com/prod/fleet/manifest.json'],
] as const) {
  void test(`SigV4 GET of the manifest (${name}) matches the AWS SDK's signature`, async () => {
    const seen: { url: string; headers: Headers }[] = [];
    const source = s3FetchManifestSource({
      url: blobUrl,
      ...creds,
      now: () => at,
      fetch: (input, init) => {
        seen.push({ url: String(input), headers: new Headers(init?.headers) });
        return Promise.resolve(new Response(manifestText, { status: 200, headers: { etag: '"abc"' } }));
      },
    });
    const got = await source.read(undefined);
    assert.notEqual(got, 'not-modified');
    assert.equal(got !== 'not-modified' && got.manifest.version, 3);
    assert.equal(seen[0]?.url, wanted);
    assert.equal(seen[0]?.headers.get('authorization'), await expectedAuthorization(new URL(wanted)));
    assert.equal(seen[0]?.headers.get('x-amz-date'), '20261129T150405Z');
  });
}

void test('a revalidation sends If-None-Match and a 304 is not-modified; 404, 403 and junk are typed errors', async () => {
  const answers = [new Response(null, { status: 304 }), new Response('', { status: 404 }), new Response('', { status: 403 }), new Response('{"version":', { status: 200 })];
  const sent: Headers[] = [];
  const source = s3FetchManifestSource({
    url: 's3://b-bucket/p?endpoint=http%3A%2F%2F127.0.0.1%3A9',
    ...creds,
    fetch: (_input, init) => {
      sent.push(new Headers(init?.headers));
      return Promise.resolve(answers.shift() as Response);
    },
  });
  assert.equal(await source.read('"e1"'), 'not-modified');
  assert.equal(sent[0]?.get('if-none-match'), '"e1"');
  await assert.rejects(source.read(undefined), { code: 'BLOB_NOT_FOUND' });
  await assert.rejects(source.read(undefined), { code: 'BLOB_IO' });
  await assert.rejects(source.read(undefined), { code: 'MANIFEST_INVALID' });
  assert.throws(() => s3FetchManifestSource({ url: 'http://x/y', ...creds }), { code: 'BLOB_URL_INVALID' });
});
