// A manifest read from a JSON file on local disk (development, or a file pushed by config management).
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { AppError } from '../errors/app-error.ts';
import { parseManifestText } from './manifest-schema.ts';
import type { ManifestSnapshot, ManifestSource } from './manifest-source.ts';

export function fileManifestSource(path: string): ManifestSource {
  const url = `file://${path}`;
  return {
    url,
    async read(etag) {
      let bytes: Buffer;
      try {
        bytes = await readFile(path);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') throw new AppError('BLOB_NOT_FOUND', { message: `${url}: no manifest file`, cause: err });
        throw new AppError('BLOB_IO', { message: `${url}: cannot read (${code ?? 'error'})`, cause: err });
      }
      const digest = `"${createHash('sha256').update(bytes).digest('hex')}"`;
      if (etag === digest) return 'not-modified';
      const snap: ManifestSnapshot = { manifest: parseManifestText(bytes.toString('utf8'), url), etag: digest };
      return snap;
    },
    async close() {},
  };
}
