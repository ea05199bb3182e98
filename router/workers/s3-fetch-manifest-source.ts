// The fleet manifest read from S3 (or any S3-compatible store: R2's S3 API, MinIO, moto) with nothing
// but fetch and crypto.subtle: a SigV4-signed conditional GET of `<prefix>/fleet/manifest.json`.
// The Node router uses the AWS SDK (router/blob/s3-blob-store.ts); a Workers runtime cannot load it.
import { AppError } from '../errors/app-error.ts';
import { parseManifestText } from '../manifest/manifest-schema.ts';
import { MANIFEST_KEY, type ManifestSource } from '../manifest/manifest-source.ts';

export interface S3FetchManifestOptions {
  /** `s3://bucket/prefix?endpoint=…&region=…&forcePathStyle=…` (the fleet's blob URL, as everywhere). */
  readonly url: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly timeoutMs?: number;
  readonly maxBytes?: number;
  readonly fetch?: typeof fetch;
  /** For tests of the signature against published examples. */
  readonly now?: () => Date;
}

interface S3Location {
  readonly bucket: string;
  readonly key: string;
  readonly region: string;
  /** Where to send the request, and the path to sign (URI-encoded). */
  readonly origin: string;
  readonly path: string;
  readonly shown: string;
}

export function s3FetchManifestSource(opts: S3FetchManifestOptions): ManifestSource {
  const loc = locate(opts.url);
  const doFetch = opts.fetch ?? fetch;
  const timeoutMs = opts.timeoutMs ?? 5000;
  const maxBytes = opts.maxBytes ?? 4 * 1024 * 1024;
  const now = opts.now ?? (() => new Date());
  return {
    url: loc.shown,
    async read(etag) {
      const headers = await signedGetHeaders(loc, opts, now());
      if (etag !== undefined) headers['if-none-match'] = etag;
      let res: Response;
      try {
        res = await doFetch(loc.origin + loc.path, { headers, signal: AbortSignal.timeout(timeoutMs) });
      } catch (err) {
        throw new AppError('BLOB_IO', { message: `${loc.shown}: unreachable`, cause: err });
      }
      if (res.status === 304) {
        await res.body?.cancel();
        return 'not-modified';
      }
      if (res.status === 404) {
        await res.body?.cancel();
        throw new AppError('BLOB_NOT_FOUND', { message: `${loc.shown}: no manifest` });
      }
      if (res.status !== 200) {
        await res.body?.cancel();
        throw new AppError('BLOB_IO', { message: `${loc.shown}: HTTP ${res.status}`, details: { status: res.status } });
      }
      const bytes = new Uint8Array(await res.arrayBuffer());
      if (bytes.byteLength > maxBytes) throw new AppError('MANIFEST_INVALID', { message: `${loc.shown}: larger than ${maxBytes} bytes` });
      const manifest = parseManifestText(new TextDecoder().decode(bytes), loc.shown);
      return { manifest, etag: res.headers.get('etag') ?? `"${await sha256Hex(bytes)}"` };
    },
    async close() {},
  };
}

function locate(url: string): S3Location {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new AppError('BLOB_URL_INVALID', { details: { reason: 'not a URL' } });
  }
  if (u.protocol !== 's3:') throw new AppError('BLOB_URL_INVALID', { details: { reason: 'an S3 manifest URL starts with s3://' } });
  const bucket = u.hostname;
  const prefix = decodeURIComponent(u.pathname).replace(/^\/+|\/+$/g, '');
  const key = prefix === '' ? MANIFEST_KEY : `${prefix}/${MANIFEST_KEY}`;
  const region = u.searchParams.get('region') ?? 'us-east-1';
  const endpoint = u.searchParams.get('endpoint');
  const encodedKey = key.split('/').map(uriEncode).join('/');
  const shown = `s3://${bucket}/${key}`;
  if (endpoint === null) return { bucket, key, region, origin: `https://${bucket}.s3.${region}.amazonaws.com`, path: `/${encodedKey}`, shown };
  const ep = new URL(endpoint);
  if (ep.protocol !== 'http:' && ep.protocol !== 'https:') throw new AppError('BLOB_URL_INVALID', { details: { reason: 'endpoint must be http(s)' } });
  // A custom endpoint (MinIO, moto, R2's S3 API) takes path-style requests unless told otherwise.
  if (u.searchParams.get('forcePathStyle') === 'false') return { bucket, key, region, origin: `${ep.protocol}//${bucket}.${ep.host}`, path: `/${encodedKey}`, shown };
  return { bucket, key, region, origin: `${ep.protocol}//${ep.host}`, path: `/${uriEncode(bucket)}/${encodedKey}`, shown };
}

/** AWS Signature Version 4 for a GET without a query or body. */
async function signedGetHeaders(loc: S3Location, creds: S3FetchManifestOptions, at: Date): Promise<Record<string, string>> {
  const amzDate = at.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const host = new URL(loc.origin).host;
  const payloadHash = await sha256Hex(new Uint8Array(0));
  const signed: Record<string, string> = { host, 'x-amz-content-sha256': payloadHash, 'x-amz-date': amzDate };
  if (creds.sessionToken !== undefined) signed['x-amz-security-token'] = creds.sessionToken;
  const names = Object.keys(signed).sort();
  const canonical = ['GET', loc.path, '', ...names.map((n) => `${n}:${signed[n]}`), '', names.join(';'), payloadHash].join('\n');
  const scope = `${day}/${loc.region}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, await sha256Hex(new TextEncoder().encode(canonical))].join('\n');
  let key = await hmac(new TextEncoder().encode(`AWS4${creds.secretAccessKey}`), day);
  for (const part of [loc.region, 's3', 'aws4_request']) key = await hmac(key, part);
  const signature = hex(await hmac(key, toSign));
  const { host: _host, ...sent } = signed;
  return { ...sent, authorization: `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}` };
}

async function hmac(key: Uint8Array<ArrayBuffer>, text: string): Promise<Uint8Array<ArrayBuffer>> {
  const k = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await crypto.subtle.sign('HMAC', k, new TextEncoder().encode(text)));
}

async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  return hex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)));
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** RFC 3986 unreserved characters stay; everything else is percent-encoded (SigV4's rule). */
function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
