// Opens a manifest source from its URL: a .json file, http(s)://, or a blob store (file://dir, s3://bucket/prefix).
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { AppError } from '../errors/app-error.ts';
import { openBlobStore, type OpenBlobStoreOptions } from '../blob/open-blob-store.ts';
import type { BlobStore } from '../blob/blob-store.ts';
import { blobManifestSource } from './blob-manifest-source.ts';
import { fileManifestSource } from './file-manifest-source.ts';
import { httpManifestSource } from './http-manifest-source.ts';
import { manifestStore, type ManifestStore } from './manifest-store.ts';
import type { ManifestSource } from './manifest-source.ts';

export type ManifestLocation = { kind: 'file'; path: string } | { kind: 'http'; url: string } | { kind: 'blob'; url: string };

/**
 * `…/manifest.json` (path or file: URL) → that file; `http(s)://…` → conditional GET of that URL;
 * `file:///dir` or a directory path, and `s3://bucket/prefix` → `fleet/manifest.json` in that blob store.
 */
export function locateManifest(spec: string, cwd: string = process.cwd()): ManifestLocation {
  if (/^https?:\/\//i.test(spec)) return { kind: 'http', url: spec };
  if (/^s3:\/\//i.test(spec)) return { kind: 'blob', url: spec };
  let path: string;
  if (/^file:/i.test(spec)) {
    try {
      path = fileURLToPath(spec);
    } catch (err) {
      throw new AppError('BLOB_URL_INVALID', { details: { reason: 'bad file: URL' }, cause: err });
    }
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) {
    throw new AppError('BLOB_URL_INVALID', { details: { reason: 'a manifest URL is a path, file:, http(s): or s3:' } });
  } else {
    path = isAbsolute(spec) ? spec : resolve(cwd, spec);
  }
  if (path.endsWith('.json')) return { kind: 'file', path };
  return { kind: 'blob', url: pathToFileURL(path).href };
}

export function openManifestSource(spec: string, opts: OpenBlobStoreOptions & { cwd?: string } = {}): ManifestSource {
  const loc = locateManifest(spec, opts.cwd);
  switch (loc.kind) {
    case 'file':
      return fileManifestSource(loc.path);
    case 'http':
      return httpManifestSource(loc.url);
    case 'blob':
      return blobManifestSource(openBlobStore(loc.url, opts), { ownsStore: true });
  }
}

/** The compare-and-swap store ops writes through; only blob-store locations support it. */
export function openManifestStore(spec: string, opts: OpenBlobStoreOptions & { cwd?: string } = {}): { store: ManifestStore; blobs: BlobStore } {
  const loc = locateManifest(spec, opts.cwd);
  if (loc.kind !== 'blob') {
    throw new AppError('BLOB_URL_INVALID', { details: { reason: 'manifest writes need a blob store URL (file:///dir or s3://bucket/prefix)' } });
  }
  const blobs = openBlobStore(loc.url, opts);
  return { store: manifestStore(blobs), blobs };
}
