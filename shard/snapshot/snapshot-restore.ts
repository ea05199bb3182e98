// Restores a snapshot into a private staging directory: verify, decompress with caps, extract hardened, verify again.
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, lstat, mkdir, mkdtemp, open, rm, unlink } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import { AppError, isAppError, type BlobStore } from '../../router/index.ts';
import { ArchivePolicy, DEFAULT_ARCHIVE_CAPS, pathProblem, type ArchiveCaps } from './archive-policy.ts';
import { parseSnapshotManifest, type SnapshotManifest } from './snapshot-manifest.ts';
import { parseSnapshotKey } from './snapshot-keys.ts';
import { isSqliteSidecar, listTree, sha256File } from './tenant-tree.ts';
import { zstdDecompressCapped } from './zstd-stream.ts';
import { integrityCheck } from './sqlite-backup.ts';

const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;

export interface RestoreProgress {
  readonly phase: 'download' | 'extract' | 'verify';
  readonly bytes: number;
  readonly total: number;
}

export interface StageRestoreOptions {
  readonly store: BlobStore;
  /** The archive key, the manifest key, or `<tenantId>/<snapshotId>`. */
  readonly key: string;
  /** Where the private work directory is made; must be on the filesystem of the final tenant directory. */
  readonly stagingRoot: string;
  readonly caps?: Partial<ArchiveCaps>;
  readonly onProgress?: (p: RestoreProgress) => void;
}

export interface StagedRestore {
  /** The verified tenant tree, ready for commitStaged(). */
  readonly dir: string;
  /** The private work directory holding `dir` (removed by discard() or by commitStaged()). */
  readonly workDir: string;
  readonly manifest: SnapshotManifest;
  discard(): Promise<void>;
}

function checkManifestAgainstCaps(m: SnapshotManifest, caps: ArchiveCaps): void {
  const tooLarge = (reason: string, extra: Record<string, unknown>): AppError =>
    new AppError('SNAPSHOT_TOO_LARGE', { details: { reason, ...extra } });
  if (m.archive.size > caps.maxArchiveBytes) throw tooLarge('archive over the cap', { maxArchiveBytes: caps.maxArchiveBytes });
  if (m.archive.tarBytes > caps.maxTarBytes) throw tooLarge('decompressed size over the cap', { maxTarBytes: caps.maxTarBytes });
  if (m.files.length + m.directories.length > caps.maxEntries) throw tooLarge('too many entries', { maxEntries: caps.maxEntries });
  if (m.archive.tarBytes > Math.max(m.archive.size, 1) * caps.maxRatio) throw tooLarge('compression ratio over the cap', { maxRatio: caps.maxRatio });
  for (const p of [...m.directories, ...m.files.map((f) => f.path)]) {
    const problem = pathProblem(p, caps.maxDepth);
    if (problem === 'too deep') throw tooLarge('too deep', { maxDepth: caps.maxDepth });
    if (problem !== null) throw new AppError('SNAPSHOT_ARCHIVE_REJECTED', { details: { path: p.slice(0, 200), reason: problem } });
  }
  for (const f of m.files) if (f.size > caps.maxFileBytes) throw tooLarge('file larger than the cap', { maxFileBytes: caps.maxFileBytes });
  const names = new Set(m.files.map((f) => f.path));
  for (const d of m.databases) {
    if (!names.has(d)) throw new AppError('SNAPSHOT_CORRUPT', { message: 'The manifest names a database that is not among its files.' });
  }
}

/** Downloads the archive to `dest` while hashing; refuses it unless size and sha256 equal the manifest's. */
async function downloadVerified(store: BlobStore, m: SnapshotManifest, dest: string, onProgress?: (p: RestoreProgress) => void): Promise<void> {
  const got = await store.getStream(m.archive.key);
  if (got === null) throw new AppError('SNAPSHOT_NOT_FOUND', { message: 'The snapshot archive is missing.', details: { key: m.archive.key } });
  const hash = createHash('sha256');
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      if (bytes > m.archive.size) {
        done(new AppError('SNAPSHOT_HASH_MISMATCH', { details: { reason: 'archive longer than the manifest says' } }));
        return;
      }
      hash.update(chunk);
      onProgress?.({ phase: 'download', bytes, total: m.archive.size });
      done(null, chunk);
    },
  });
  try {
    await pipeline(got.stream, tap, createWriteStream(dest, { flags: 'wx', mode: 0o600 }));
  } catch (err) {
    if (isAppError(err)) throw err;
    throw new AppError('BLOB_IO', { message: 'Downloading the snapshot failed.', details: { key: m.archive.key }, cause: err });
  }
  const sha256 = hash.digest('hex');
  if (bytes !== m.archive.size || sha256 !== m.archive.sha256) {
    throw new AppError('SNAPSHOT_HASH_MISMATCH', { details: { expectedSize: m.archive.size, size: bytes } });
  }
}

type Unpacker = tar.Unpack;

/**
 * Feeds decompressed pieces into tar's unpacker by hand. stream.pipeline() waits for the source
 * to be drained, but node-tar's Minipass unpacker can finish at the end-of-archive marker and
 * stop reading; a pipeline would then wait forever with nothing left on the event loop.
 */
async function feedUnpack(source: Readable, decompress: (src: AsyncIterable<Buffer>) => AsyncGenerator<Buffer>, unpack: Unpacker): Promise<void> {
  let finished = false;
  let failed: unknown;
  const done = new Promise<void>((resolve, reject) => {
    unpack.once('finish', () => {
      finished = true;
      resolve();
    });
    unpack.once('error', (err: unknown) => {
      failed = err;
      reject(err);
    });
  });
  done.catch(() => undefined); // observed below
  const settled = (): boolean => finished || failed !== undefined;
  const drained = (): Promise<void> =>
    new Promise((resolve) => {
      const on = (): void => {
        unpack.off('drain', on);
        unpack.off('finish', on);
        unpack.off('error', on);
        resolve();
      };
      unpack.on('drain', on);
      unpack.on('finish', on);
      unpack.on('error', on);
    });
  try {
    for await (const piece of decompress(source as AsyncIterable<Buffer>)) {
      if (settled()) break;
      if (!unpack.write(piece)) await drained();
    }
    if (!settled()) unpack.end();
    await done;
  } catch (err) {
    if (!settled()) unpack.abort(err instanceof Error ? err : new Error(String(err)));
    throw failed ?? err;
  } finally {
    source.destroy();
  }
}

/** zstd outside tar, then tar.x with every protection on and a filter that refuses (not skips) bad entries. */
async function extractHardened(archive: string, tree: string, m: SnapshotManifest, caps: ArchiveCaps): Promise<void> {
  const policy = new ArchivePolicy(caps, {
    files: new Map(m.files.map((f) => [f.path, f.size])),
    directories: new Set(m.directories),
  });
  let refusal: AppError | undefined;
  const unpack = tar.x({
    cwd: tree,
    strict: true,
    zstd: false, // node-tar's zstd path crashes the process on Node 20: we decompress before tar
    preservePaths: false,
    preserveOwner: false,
    unlink: false,
    keep: true,
    noMtime: true,
    maxDepth: caps.maxDepth,
    maxDecompressionRatio: caps.maxRatio,
    filter: (path, entry) => {
      if (refusal !== undefined) return false;
      try {
        const type = 'type' in entry ? entry.type : 'unknown';
        policy.admit({ path, type, size: entry.size ?? 0 });
        return true;
      } catch (err) {
        refusal = isAppError(err) ? err : new AppError('SNAPSHOT_ARCHIVE_REJECTED', { cause: err });
        unpack.abort(new Error('entry refused'));
        return false;
      }
    },
  });
  const maxOutputBytes = Math.min(caps.maxTarBytes, m.archive.tarBytes, Math.max(m.archive.size, 1) * caps.maxRatio);
  try {
    await feedUnpack(createReadStream(archive), zstdDecompressCapped({ maxOutputBytes, windowLogMax: 27 }), unpack);
  } catch (err) {
    if (refusal !== undefined) throw refusal;
    if (isAppError(err)) throw err;
    const tarCode = (err as { tarCode?: unknown; code?: unknown }).tarCode ?? (err as { code?: unknown }).code;
    throw new AppError('SNAPSHOT_CORRUPT', { message: 'The tar stream inside the snapshot is corrupt.', details: { tarCode: String(tarCode ?? 'unknown') }, cause: err });
  }
  if (refusal !== undefined) throw refusal;
}

async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function removeSidecars(tree: string, dbPath: string): Promise<void> {
  for (const suffix of ['-wal', '-shm', '-journal']) await unlink(join(tree, dbPath + suffix)).catch(() => undefined);
}

/** Walks what was extracted (lstat), and checks it is exactly the manifest's tree, byte for byte. */
async function verifyTree(tree: string, m: SnapshotManifest, onProgress?: (p: RestoreProgress) => void): Promise<void> {
  const listing = await listTree(tree);
  const first = listing.other[0];
  if (first !== undefined) {
    throw new AppError('SNAPSHOT_ARCHIVE_REJECTED', { details: { path: first.path.slice(0, 200), type: first.kind } });
  }
  const expected = new Map(m.files.map((f) => [f.path, f]));
  for (const f of listing.files) {
    if (!expected.has(f.path)) throw new AppError('SNAPSHOT_ARCHIVE_REJECTED', { details: { path: f.path.slice(0, 200), reason: 'file not in the manifest' } });
  }
  const total = m.files.reduce((n, f) => n + f.size, 0);
  let done = 0;
  for (const f of m.files) {
    const abs = join(tree, f.path);
    let st;
    try {
      st = await lstat(abs);
    } catch {
      throw new AppError('SNAPSHOT_CORRUPT', { message: 'A file of the manifest is missing from the archive.', details: { path: f.path.slice(0, 200) } });
    }
    if (!st.isFile()) throw new AppError('SNAPSHOT_ARCHIVE_REJECTED', { details: { path: f.path.slice(0, 200), reason: 'not a regular file' } });
    const got = await sha256File(abs);
    if (got.size !== f.size || got.sha256 !== f.sha256) {
      throw new AppError('SNAPSHOT_HASH_MISMATCH', { details: { path: f.path.slice(0, 200) } });
    }
    await chmod(abs, st.mode & 0o777); // no set-id or sticky bits from an archive
    done += f.size;
    onProgress?.({ phase: 'verify', bytes: done, total });
  }
  // Stale WAL/SHM files would be replayed onto the restored database: they never survive a restore.
  for (const f of listing.files) if (isSqliteSidecar(f.path)) await unlink(join(tree, f.path));
  for (const dbPath of m.databases) {
    if (isSqliteSidecar(dbPath)) continue;
    await removeSidecars(tree, dbPath);
    let result: string;
    try {
      result = await integrityCheck(join(tree, dbPath));
    } catch (cause) {
      throw new AppError('SNAPSHOT_CORRUPT', { message: 'A database in the snapshot cannot be opened.', details: { path: dbPath.slice(0, 200) }, cause });
    } finally {
      await removeSidecars(tree, dbPath);
    }
    if (result !== 'ok') {
      throw new AppError('SNAPSHOT_CORRUPT', { message: 'A database in the snapshot failed integrity_check.', details: { path: dbPath.slice(0, 200), result: result.slice(0, 200) } });
    }
  }
  for (const f of m.files) if (!isSqliteSidecar(f.path)) await fsyncPath(join(tree, f.path));
  const dirs = [...new Set([...listing.directories])].sort().reverse();
  for (const d of dirs) await fsyncPath(join(tree, d));
  await fsyncPath(tree);
}

/** Fetches, verifies and unpacks a snapshot into a fresh private directory; nothing is written elsewhere. */
export async function stageRestore(opts: StageRestoreOptions): Promise<StagedRestore> {
  const caps: ArchiveCaps = { ...DEFAULT_ARCHIVE_CAPS, ...opts.caps };
  const ref = parseSnapshotKey(opts.key);
  const stat = await opts.store.stat(ref.manifestKey);
  if (stat === null) throw new AppError('SNAPSHOT_NOT_FOUND', { details: { key: ref.archiveKey } });
  if (stat.size > MAX_MANIFEST_BYTES) throw new AppError('SNAPSHOT_TOO_LARGE', { details: { reason: 'manifest over the cap' } });
  const raw = await opts.store.get(ref.manifestKey);
  if (raw === null) throw new AppError('SNAPSHOT_NOT_FOUND', { details: { key: ref.archiveKey } });
  const manifest = parseSnapshotManifest(raw.body);
  if (manifest.tenant !== ref.tenantId || manifest.id !== ref.snapshotId || manifest.archive.key !== ref.archiveKey) {
    throw new AppError('SNAPSHOT_CORRUPT', { message: 'The snapshot manifest does not describe this key.', details: { key: ref.archiveKey } });
  }
  checkManifestAgainstCaps(manifest, caps);

  await mkdir(opts.stagingRoot, { recursive: true, mode: 0o700 });
  const workDir = await mkdtemp(join(opts.stagingRoot, 'restore-'));
  await chmod(workDir, 0o700);
  const discard = (): Promise<void> => rm(workDir, { recursive: true, force: true });
  try {
    const archive = join(workDir, 'archive.tar.zst');
    await downloadVerified(opts.store, manifest, archive, opts.onProgress);
    const tree = join(workDir, 'tree');
    await mkdir(tree, { mode: 0o700 });
    opts.onProgress?.({ phase: 'extract', bytes: 0, total: manifest.archive.tarBytes });
    await extractHardened(archive, tree, manifest, caps);
    await unlink(archive);
    await verifyTree(tree, manifest, opts.onProgress);
    return { dir: tree, workDir, manifest, discard };
  } catch (err) {
    await discard();
    throw err;
  }
}
