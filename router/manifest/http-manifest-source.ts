// A manifest served over http(s): conditional GET with If-None-Match, bounded time and size.
// Runtime-neutral (Web fetch, crypto.subtle): the Node router and the Workers entry both use it.
import { AppError } from '../errors/app-error.ts';
import { parseManifestText } from './manifest-schema.ts';
import type { ManifestSource } from './manifest-source.ts';

export interface HttpManifestSourceOptions {
  readonly timeoutMs?: number;
  readonly maxBytes?: number;
  readonly fetch?: typeof fetch;
}

export function httpManifestSource(url: string, opts: HttpManifestSourceOptions = {}): ManifestSource {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const maxBytes = opts.maxBytes ?? 4 * 1024 * 1024;
  const doFetch = opts.fetch ?? fetch;
  const shown = redactUrl(url);
  // fetch refuses URLs with credentials: send them as Basic auth instead.
  const { target, authorization } = splitCredentials(url);
  return {
    url: shown,
    async read(etag) {
      let res: Response;
      try {
        const headers: Record<string, string> = { accept: 'application/json' };
        if (etag !== undefined) headers['if-none-match'] = etag;
        if (authorization !== undefined) headers['authorization'] = authorization;
        res = await doFetch(target, {
          headers,
          signal: AbortSignal.timeout(timeoutMs),
          redirect: 'follow',
        });
      } catch (err) {
        throw new AppError('BLOB_IO', { message: `${shown}: unreachable`, cause: err });
      }
      if (res.status === 304) {
        await res.body?.cancel();
        return 'not-modified';
      }
      if (res.status === 404) {
        await res.body?.cancel();
        throw new AppError('BLOB_NOT_FOUND', { message: `${shown}: 404` });
      }
      if (res.status !== 200) {
        await res.body?.cancel();
        throw new AppError('BLOB_IO', { message: `${shown}: HTTP ${res.status}`, details: { status: res.status } });
      }
      const declared = Number(res.headers.get('content-length') ?? '0');
      if (declared > maxBytes) {
        await res.body?.cancel();
        throw new AppError('MANIFEST_INVALID', { message: `${shown}: larger than ${maxBytes} bytes` });
      }
      const bytes = new Uint8Array(await res.arrayBuffer());
      if (bytes.byteLength > maxBytes) throw new AppError('MANIFEST_INVALID', { message: `${shown}: larger than ${maxBytes} bytes` });
      const manifest = parseManifestText(new TextDecoder().decode(bytes), shown);
      const tag = res.headers.get('etag') ?? `"${await sha256Hex(bytes)}"`;
      return { manifest, etag: tag };
    },
    async close() {},
  };
}

function splitCredentials(url: string): { target: string; authorization: string | undefined } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { target: url, authorization: undefined };
  }
  if (u.username === '' && u.password === '') return { target: url, authorization: undefined };
  const basic = base64Utf8(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`);
  u.username = '';
  u.password = '';
  return { target: u.href, authorization: `Basic ${basic}` };
}

/** Drops user:password and the query (which may carry a signature) from a URL shown in logs. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid url)';
  }
}

async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

function base64Utf8(text: string): string {
  let binary = '';
  for (const b of new TextEncoder().encode(text)) binary += String.fromCharCode(b);
  return btoa(binary);
}
