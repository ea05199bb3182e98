// A manifest read from a fleet blob store (s3://bucket/prefix or file://dir) at fleet/manifest.json.
import { AppError } from '../errors/app-error.ts';
import type { BlobStore } from '../blob/blob-store.ts';
import { parseManifestText } from './manifest-schema.ts';
import { MANIFEST_KEY, type ManifestSource } from './manifest-source.ts';

export function blobManifestSource(store: BlobStore, opts: { ownsStore?: boolean } = {}): ManifestSource {
  const url = `${store.url.replace(/\/+$/, '')}/${MANIFEST_KEY}`;
  return {
    url,
    async read(etag) {
      const got = await store.getIfChanged(MANIFEST_KEY, etag);
      if (got === 'not-modified') return 'not-modified';
      if (got === null) throw new AppError('BLOB_NOT_FOUND', { message: `${url}: no manifest` });
      return { manifest: parseManifestText(got.body.toString('utf8'), url), etag: got.etag };
    },
    async close() {
      if (opts.ownsStore === true) await store.close();
    },
  };
}
