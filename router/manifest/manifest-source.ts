// Where a router reads the fleet manifest from: the interface every source (file, http, blob store) implements.
import type { Manifest } from './manifest-schema.ts';

export interface ManifestSnapshot {
  readonly manifest: Manifest;
  /** Opaque validator for conditional reads (HTTP ETag, blob ETag, or a content hash). */
  readonly etag: string;
}

/**
 * `read(etag)` is a conditional read: 'not-modified' when the manifest's etag still equals `etag`.
 * Throws AppError: MANIFEST_INVALID (present but invalid), BLOB_NOT_FOUND (absent), BLOB_IO (unreachable).
 */
export interface ManifestSource {
  readonly url: string;
  read(etag: string | undefined): Promise<ManifestSnapshot | 'not-modified'>;
  close(): Promise<void>;
}

/** The key of the manifest inside a fleet's blob store (DESIGN §4). */
export const MANIFEST_KEY = 'fleet/manifest.json';
