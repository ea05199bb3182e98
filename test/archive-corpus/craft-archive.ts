// Builds hostile tar archives byte by byte (ustar headers), and publishes them as snapshots with a matching sidecar.
import { createHash } from 'node:crypto';
import { compress } from 'zstd-napi';
import type { BlobStore } from '../../router/index.ts';
import { SNAPSHOT_FORMAT, SNAPSHOT_FORMAT_VERSION, type SnapshotManifest } from '../../shard/snapshot/snapshot-manifest.ts';
import { newSnapshotId, snapshotRef } from '../../shard/snapshot/snapshot-keys.ts';

export type CraftType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

export interface CraftEntry {
  readonly path: string;
  readonly type: CraftType;
  readonly body?: Buffer;
  readonly linkpath?: string;
  /** Declared size; defaults to the body length (a lie here makes a short/long entry). */
  readonly size?: number;
}

const TYPEFLAG: Record<CraftType, string> = { file: '0', hardlink: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' };

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function header(e: CraftEntry): Buffer {
  const h = Buffer.alloc(512);
  let name = e.path;
  let prefix = '';
  if (Buffer.byteLength(name) > 100) {
    // ustar splits long paths at a '/' into prefix (<=155) + name (<=100).
    for (let i = name.indexOf('/'); i !== -1; i = name.indexOf('/', i + 1)) {
      if (Buffer.byteLength(name.slice(i + 1)) <= 100) {
        prefix = name.slice(0, i);
        name = name.slice(i + 1);
        break;
      }
    }
  }
  h.write(name, 0, 100, 'utf8');
  h.write(octal(e.type === 'dir' ? 0o755 : 0o644, 8), 100, 'latin1');
  h.write(octal(0, 8), 108, 'latin1');
  h.write(octal(0, 8), 116, 'latin1');
  const size = e.size ?? (e.type === 'file' ? (e.body?.length ?? 0) : 0);
  h.write(octal(size, 12), 124, 'latin1');
  h.write(octal(1_700_000_000, 12), 136, 'latin1');
  h.write('        ', 148, 'latin1');
  h.write(TYPEFLAG[e.type], 156, 'latin1');
  if (e.linkpath !== undefined) h.write(e.linkpath, 157, 100, 'utf8');
  h.write('ustar\0', 257, 'latin1');
  h.write('00', 263, 'latin1');
  h.write(octal(0, 8), 329, 'latin1');
  h.write(octal(0, 8), 337, 'latin1');
  if (prefix !== '') h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

export function craftTar(entries: readonly CraftEntry[], opts: { truncateAt?: number } = {}): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(header(e));
    if (e.type === 'file' && e.body !== undefined && e.body.length > 0) {
      parts.push(e.body);
      const pad = (512 - (e.body.length % 512)) % 512;
      parts.push(Buffer.alloc(pad));
    }
  }
  parts.push(Buffer.alloc(1024));
  const whole = Buffer.concat(parts);
  return opts.truncateAt === undefined ? whole : whole.subarray(0, opts.truncateAt);
}

export function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

export function zstd(buf: Buffer): Buffer {
  return compress(buf, { compressionLevel: 3 });
}

export interface PublishOptions {
  /** What the manifest says the tree holds; defaults to the regular files and dirs among `entries`. */
  readonly files?: SnapshotManifest['files'];
  readonly directories?: string[];
  readonly databases?: string[];
  /** Defaults to the real tar length. */
  readonly tarBytes?: number;
  /** Overrides applied to the manifest last (e.g. version). */
  readonly patch?: Record<string, unknown>;
  /** Archive bytes to store instead of the ones hashed into the manifest (a hash-mismatch case). */
  readonly storeInstead?: Buffer;
}

/** Stores `archive` under a fresh snapshot key of `tenantId` with a sidecar that matches it; returns the key. */
export async function publishSnapshot(
  store: BlobStore,
  tenantId: string,
  archive: Buffer,
  tarLength: number,
  entries: readonly CraftEntry[],
  opts: PublishOptions = {},
): Promise<string> {
  const id = newSnapshotId(new Date());
  const ref = snapshotRef(tenantId, id);
  const files =
    opts.files ??
    entries.filter((e) => e.type === 'file').map((e) => ({ path: e.path, size: e.body?.length ?? 0, sha256: sha256(e.body ?? Buffer.alloc(0)) }));
  const directories = opts.directories ?? entries.filter((e) => e.type === 'dir').map((e) => e.path.replace(/\/$/, ''));
  const manifest = {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_FORMAT_VERSION,
    id,
    tenant: tenantId,
    epoch: 1,
    createdAt: new Date().toISOString(),
    archive: { key: ref.archiveKey, size: archive.length, sha256: sha256(archive), compression: 'zstd', tarBytes: opts.tarBytes ?? tarLength },
    files,
    directories,
    databases: opts.databases ?? [],
    skipped: [],
    ...opts.patch,
  };
  await store.put(ref.archiveKey, opts.storeInstead ?? archive);
  await store.put(ref.manifestKey, JSON.stringify(manifest));
  return ref.archiveKey;
}
