// Compare-and-swap reads and writes of the fleet manifest in a blob store (ops side; DESIGN §4).
import { AppError, isAppError } from '../errors/app-error.ts';
import type { BlobStore } from '../blob/blob-store.ts';
import { parseManifest, parseManifestText, serializeManifest, type Manifest, type ManifestInput } from './manifest-schema.ts';
import { MANIFEST_KEY, type ManifestSnapshot } from './manifest-source.ts';

export interface ManifestStore {
  readonly url: string;
  /** The current manifest and its etag; null when none has been written yet. */
  read(): Promise<ManifestSnapshot | null>;
  /**
   * Writes `next` only if the stored manifest is still `expected` (null: only if none exists).
   * `next.version` must be exactly `expected.manifest.version + 1` (any version ≥ 1 for the first write).
   * Throws MANIFEST_CONFLICT when someone else wrote in between, MANIFEST_INVALID when `next` is invalid.
   */
  write(next: ManifestInput, expected: ManifestSnapshot | null): Promise<ManifestSnapshot>;
  /**
   * Read-modify-write: `change` gets the current manifest (null if none) and returns the next one
   * without caring about the version (it is set to current + 1). Retries on conflict up to `retries` times.
   * A change that leaves the manifest as it is writes nothing and returns the current snapshot (the
   * version moves only when something changed: routers and fencing read the version as "news").
   */
  update(change: (current: Manifest | null) => ManifestInput, opts?: { retries?: number }): Promise<ManifestSnapshot>;
}

export function manifestStore(store: BlobStore): ManifestStore {
  const url = `${store.url.replace(/\/+$/, '')}/${MANIFEST_KEY}`;

  const read = async (): Promise<ManifestSnapshot | null> => {
    const got = await store.get(MANIFEST_KEY);
    if (got === null) return null;
    return { manifest: parseManifestText(got.body.toString('utf8'), url), etag: got.etag };
  };

  const write = async (nextInput: ManifestInput, expected: ManifestSnapshot | null): Promise<ManifestSnapshot> => {
    const next = parseManifest(nextInput, 'new manifest');
    if (expected === null) {
      if (next.version < 1) throw new AppError('MANIFEST_INVALID', { message: 'the first manifest has version ≥ 1' });
    } else if (next.version !== expected.manifest.version + 1) {
      throw new AppError('MANIFEST_INVALID', {
        message: `the version must go from ${expected.manifest.version} to ${expected.manifest.version + 1}, not ${next.version}`,
        details: { expected: expected.manifest.version + 1, got: next.version },
      });
    }
    try {
      const { etag } = await store.put(MANIFEST_KEY, serializeManifest(next), {
        contentType: 'application/json',
        ...(expected === null ? { ifNoneMatch: '*' as const } : { ifMatch: expected.etag }),
      });
      return { manifest: next, etag };
    } catch (err) {
      if (isAppError(err) && (err.code === 'BLOB_PRECONDITION_FAILED' || err.code === 'BLOB_EXISTS')) {
        throw new AppError('MANIFEST_CONFLICT', { details: { url }, cause: err });
      }
      throw err;
    }
  };

  const update = async (change: (current: Manifest | null) => ManifestInput, opts: { retries?: number } = {}): Promise<ManifestSnapshot> => {
    const retries = opts.retries ?? 3;
    for (let attempt = 0; ; attempt++) {
      const cur = await read();
      const proposed = change(cur?.manifest ?? null);
      if (cur !== null && sameContent(cur.manifest, proposed)) return cur;
      const next = { ...proposed, version: cur === null ? Math.max(1, proposed.version) : cur.manifest.version + 1 };
      try {
        return await write(next, cur);
      } catch (err) {
        if (isAppError(err) && err.code === 'MANIFEST_CONFLICT' && attempt < retries) continue;
        throw err;
      }
    }
  };

  return { url, read, write, update };
}

/** Equal shards and overrides (versions aside), compared in their canonical serialized form. */
function sameContent(current: Manifest, proposed: ManifestInput): boolean {
  try {
    return serializeManifest(parseManifest({ ...proposed, version: current.version })) === serializeManifest(current);
  } catch {
    return false; // invalid: let write() report it
  }
}
