// What a restore lets out of an archive: a pure check of one tar entry against the caps and the manifest.
import { AppError } from '../../router/index.ts';

export interface ArchiveCaps {
  /** Largest compressed archive accepted (bytes). */
  readonly maxArchiveBytes: number;
  /** Largest total of decompressed tar bytes (bytes). */
  readonly maxTarBytes: number;
  /** Largest single file (bytes). */
  readonly maxFileBytes: number;
  /** Most entries (files + directories). */
  readonly maxEntries: number;
  /** Deepest path (segments). */
  readonly maxDepth: number;
  /**
   * Largest decompressed/compressed ratio. zstd reaches ~30000:1 on runs of equal bytes (empty
   * SQLite pages), so this is loose by default; the byte caps, and the decompressor stopping at the
   * manifest's own tarBytes, are what bound a bomb. Lower it where tenants hold no such data.
   */
  readonly maxRatio: number;
}

export const DEFAULT_ARCHIVE_CAPS: ArchiveCaps = Object.freeze({
  maxArchiveBytes: 16 * 1024 ** 3,
  maxTarBytes: 32 * 1024 ** 3,
  maxFileBytes: 16 * 1024 ** 3,
  maxEntries: 200_000,
  maxDepth: 32,
  maxRatio: 100_000,
});

const SEGMENT = /^[^\0/\\]+$/;

export type EntryKind = 'File' | 'Directory';

/** Why a path cannot be extracted, or null when it is a clean relative path. */
export function pathProblem(path: string, maxDepth: number): string | null {
  if (path.length === 0) return 'empty path';
  if (path.includes('\0')) return 'NUL in path';
  if (path.includes('\\')) return 'backslash in path';
  if (path.startsWith('/')) return 'absolute path';
  if (/^[A-Za-z]:/.test(path)) return 'drive-letter path';
  const segs = path.replace(/\/+$/, '').split('/');
  for (const s of segs) {
    if (s === '..') return 'parent-directory segment';
    if (s === '.' || s === '') return 'empty or dot segment';
    if (!SEGMENT.test(s)) return 'bad segment';
  }
  if (segs.length > maxDepth) return 'too deep';
  return null;
}

/** The normalised relative path (no trailing '/'). Call only after pathProblem() returned null. */
export function normalisedPath(path: string): string {
  return path.replace(/\/+$/, '');
}

export interface EntryInfo {
  readonly path: string;
  readonly type: string;
  readonly size: number;
}

export interface ExpectedTree {
  readonly files: ReadonlyMap<string, number>;
  readonly directories: ReadonlySet<string>;
}

/** Tracks the entries seen so far and throws the AppError for the first one that is not allowed. */
export class ArchivePolicy {
  readonly #caps: ArchiveCaps;
  readonly #expected: ExpectedTree;
  readonly #seen = new Set<string>();
  #bytes = 0;

  constructor(caps: ArchiveCaps, expected: ExpectedTree) {
    this.#caps = caps;
    this.#expected = expected;
  }

  /** Checks one entry; returns its normalised path and kind, or throws SNAPSHOT_ARCHIVE_REJECTED / SNAPSHOT_TOO_LARGE. */
  admit(entry: EntryInfo): { path: string; kind: EntryKind } {
    const shown = entry.path.slice(0, 200);
    if (entry.type !== 'File' && entry.type !== 'Directory') {
      throw new AppError('SNAPSHOT_ARCHIVE_REJECTED', { details: { path: shown, type: entry.type, reason: 'only regular files and directories are allowed' } });
    }
    const problem = pathProblem(entry.path, this.#caps.maxDepth);
    if (problem === 'too deep') {
      throw new AppError('SNAPSHOT_TOO_LARGE', { details: { path: shown, reason: problem, maxDepth: this.#caps.maxDepth } });
    }
    if (problem !== null) throw new AppError('SNAPSHOT_ARCHIVE_REJECTED', { details: { path: shown, reason: problem } });
    const path = normalisedPath(entry.path);
    if (this.#seen.has(path)) throw new AppError('SNAPSHOT_ARCHIVE_REJECTED', { details: { path: shown, reason: 'duplicate entry' } });
    this.#seen.add(path);
    if (this.#seen.size > this.#caps.maxEntries) {
      throw new AppError('SNAPSHOT_TOO_LARGE', { details: { reason: 'too many entries', maxEntries: this.#caps.maxEntries } });
    }
    if (entry.type === 'Directory') {
      if (!this.#expected.directories.has(path)) {
        throw new AppError('SNAPSHOT_ARCHIVE_REJECTED', { details: { path: shown, reason: 'directory not in the manifest' } });
      }
      return { path, kind: 'Directory' };
    }
    if (entry.size > this.#caps.maxFileBytes) {
      throw new AppError('SNAPSHOT_TOO_LARGE', { details: { path: shown, reason: 'file larger than the cap', maxFileBytes: this.#caps.maxFileBytes } });
    }
    this.#bytes += entry.size;
    if (this.#bytes > this.#caps.maxTarBytes) {
      throw new AppError('SNAPSHOT_TOO_LARGE', { details: { reason: 'archive larger than the cap', maxTarBytes: this.#caps.maxTarBytes } });
    }
    const size = this.#expected.files.get(path);
    if (size === undefined) throw new AppError('SNAPSHOT_ARCHIVE_REJECTED', { details: { path: shown, reason: 'file not in the manifest' } });
    if (size !== entry.size) throw new AppError('SNAPSHOT_HASH_MISMATCH', { details: { path: shown, reason: 'size differs from the manifest' } });
    return { path, kind: 'File' };
  }
}
