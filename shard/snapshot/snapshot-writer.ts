// Takes a snapshot of a tenant directory: consistent SQLite copies, then tar + zstd streamed to the blob store.
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { constants as fsConstants } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Transform, pipeline } from 'node:stream';
import * as tar from 'tar';
import { AppError, toAppError, type BlobStore } from '../../router/index.ts';
import { SNAPSHOT_FORMAT, SNAPSHOT_FORMAT_VERSION, type SnapshotManifest } from './snapshot-manifest.ts';
import { newSnapshotId, snapshotRef } from './snapshot-keys.ts';
import { isSqliteFile, isSqliteSidecar, listTree, sha256File } from './tenant-tree.ts';
import { createZstdCompressStream } from './zstd-stream.ts';
import { backupDatabase } from './sqlite-backup.ts';

export interface SnapshotProgress {
  readonly phase: 'copy' | 'upload' | 'manifest';
  /** Bytes copied (copy) or compressed bytes sent (upload). */
  readonly bytes: number;
}

export interface WriteSnapshotOptions {
  readonly store: BlobStore;
  readonly tenantId: string;
  /** The live tenant directory, <data>/tenants/<id>. */
  readonly tenantDir: string;
  readonly epoch: number;
  readonly shardId?: string;
  /** A private directory for the consistent copy (removed afterwards). */
  readonly scratchDir: string;
  readonly now?: () => Date;
  readonly zstdLevel?: number;
  readonly onProgress?: (p: SnapshotProgress) => void;
}

export interface SnapshotResult {
  readonly id: string;
  readonly tenant: string;
  readonly epoch: number;
  readonly key: string;
  readonly manifestKey: string;
  /** Compressed archive size. */
  readonly bytes: number;
  readonly sha256: string;
  readonly tarBytes: number;
  readonly files: number;
  readonly createdAt: string;
}

/** Builds the consistent copy in `copyDir`; returns the manifest's file lists. */
async function stageCopy(
  tenantDir: string,
  copyDir: string,
  onProgress?: (p: SnapshotProgress) => void,
): Promise<Pick<SnapshotManifest, 'files' | 'directories' | 'databases' | 'skipped'>> {
  const tree = await listTree(tenantDir);
  const skipped = tree.other.map((o) => ({ path: o.path, kind: o.kind }));
  for (const dir of tree.directories) await mkdir(join(copyDir, dir), { mode: 0o700 });
  const files: SnapshotManifest['files'] = [];
  const databases: string[] = [];
  let copied = 0;
  for (const f of tree.files) {
    if (isSqliteSidecar(f.path)) {
      skipped.push({ path: f.path, kind: 'sqlite-sidecar' });
      continue;
    }
    const src = join(tenantDir, f.path);
    const dest = join(copyDir, f.path);
    try {
      if (await isSqliteFile(src)) {
        await backupDatabase(src, dest);
        databases.push(f.path);
      } else {
        await copyFile(src, dest, fsConstants.COPYFILE_FICLONE);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // deleted since the listing
      throw err;
    }
    const { sha256, size } = await sha256File(dest);
    files.push({ path: f.path, size, sha256 });
    copied += size;
    onProgress?.({ phase: 'copy', bytes: copied });
  }
  return { files, directories: tree.directories, databases, skipped };
}

/** A pass-through that hashes and counts what flows through it. */
function hashingTap(): { tap: Transform; result: () => { sha256: string; bytes: number } } {
  const hash = createHash('sha256');
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  return { tap, result: () => ({ sha256: hash.digest('hex'), bytes }) };
}

export async function writeSnapshot(opts: WriteSnapshotOptions): Promise<SnapshotResult> {
  const now = opts.now ?? (() => new Date());
  const createdAt = now();
  const id = newSnapshotId(createdAt);
  const ref = snapshotRef(opts.tenantId, id);
  await mkdir(opts.scratchDir, { recursive: true, mode: 0o700 });
  const work = await mkdtemp(join(opts.scratchDir, 'snap-'));
  let uploaded = false;
  try {
    const copyDir = join(work, 'tree');
    await mkdir(copyDir, { mode: 0o700 });
    const lists = await stageCopy(opts.tenantDir, copyDir, opts.onProgress);

    // Regular files and directories only, in sorted order, no owner/mtime: the same tree gives the same tar.
    const entries = [...lists.directories.map((d) => `${d}/`), ...lists.files.map((f) => f.path)].sort();
    // Small reads keep each synchronous zstd/sha256 step short, so other tenants' requests keep flowing.
    const pack = tar.c({ cwd: copyDir, portable: true, follow: false, noDirRecurse: true, noMtime: true, gzip: false, maxReadSize: 256 * 1024 }, entries);
    const tarTap = hashingTap();
    const zTap = hashingTap();
    let pipelineError: unknown;
    const body = pipeline(pack, tarTap.tap, createZstdCompressStream(opts.zstdLevel ?? 3), zTap.tap, (err) => {
      if (err) pipelineError = err;
    });
    let put;
    try {
      put = await opts.store.putStream(ref.archiveKey, body, {
        ifNoneMatch: '*',
        contentType: 'application/zstd',
        onProgress: (bytes) => opts.onProgress?.({ phase: 'upload', bytes }),
      });
    } catch (err) {
      // A failure on our side (reading the copy, compressing) surfaces as the store's stream error: name the real one.
      throw pipelineError !== undefined ? toAppError(pipelineError) : err;
    }
    uploaded = true;
    if (pipelineError !== undefined) throw toAppError(pipelineError);
    const archive = zTap.result();
    const tarBytes = tarTap.result().bytes;
    if (put.size !== archive.bytes) {
      throw new AppError('BLOB_IO', { message: 'The blob store stored a different number of bytes than were sent.', details: { sent: archive.bytes, stored: put.size } });
    }
    const manifest: SnapshotManifest = {
      format: SNAPSHOT_FORMAT,
      version: SNAPSHOT_FORMAT_VERSION,
      id,
      tenant: opts.tenantId,
      epoch: opts.epoch,
      createdAt: createdAt.toISOString(),
      ...(opts.shardId === undefined ? {} : { shard: opts.shardId }),
      archive: { key: ref.archiveKey, size: archive.bytes, sha256: archive.sha256, compression: 'zstd', tarBytes },
      ...lists,
    };
    opts.onProgress?.({ phase: 'manifest', bytes: archive.bytes });
    // The sidecar is written last and create-only: its presence is what makes a snapshot complete.
    await opts.store.put(ref.manifestKey, `${JSON.stringify(manifest, null, 2)}\n`, { ifNoneMatch: '*', contentType: 'application/json' });
    return {
      id,
      tenant: opts.tenantId,
      epoch: opts.epoch,
      key: ref.archiveKey,
      manifestKey: ref.manifestKey,
      bytes: archive.bytes,
      sha256: archive.sha256,
      tarBytes,
      files: lists.files.length,
      createdAt: manifest.createdAt,
    };
  } catch (err) {
    if (uploaded) await opts.store.delete(ref.archiveKey).catch(() => undefined);
    throw err;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
