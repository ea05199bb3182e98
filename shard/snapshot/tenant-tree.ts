// Walks a directory with lstat (never following links) and sorts what it finds: dirs, files, the rest.
import { lstat, readdir, open } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';

export interface TreeListing {
  /** Relative '/'-separated paths, sorted, parents before children. */
  readonly directories: string[];
  readonly files: { path: string; size: number }[];
  /** Anything else (symlinks, sockets, FIFOs, devices) with its kind. */
  readonly other: { path: string; kind: string }[];
}

function kindOf(st: Awaited<ReturnType<typeof lstat>>): string {
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  if (st.isCharacterDevice()) return 'char-device';
  if (st.isBlockDevice()) return 'block-device';
  return 'unknown';
}

const byPath = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export async function listTree(root: string): Promise<TreeListing> {
  const directories: string[] = [];
  const files: { path: string; size: number }[] = [];
  const other: { path: string; kind: string }[] = [];
  const walk = async (rel: string): Promise<void> => {
    const names = (await readdir(rel === '' ? root : join(root, rel))).sort(byPath);
    for (const name of names) {
      const childRel = rel === '' ? name : `${rel}/${name}`;
      let st;
      try {
        st = await lstat(join(root, childRel));
      } catch {
        continue; // removed while walking
      }
      if (st.isDirectory()) {
        directories.push(childRel);
        await walk(childRel);
      } else if (st.isFile()) {
        files.push({ path: childRel, size: st.size });
      } else {
        other.push({ path: childRel, kind: kindOf(st) });
      }
    }
  };
  await walk('');
  directories.sort(byPath);
  files.sort((a, b) => byPath(a.path, b.path));
  return { directories, files, other };
}

export async function sha256File(path: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
    const buf = chunk as Buffer;
    size += buf.length;
    hash.update(buf);
  }
  return { sha256: hash.digest('hex'), size };
}

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

/** True when the file starts with the SQLite header: such files are copied with the backup API, never raw. */
export async function isSqliteFile(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(SQLITE_MAGIC.length);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return bytesRead === buf.length && buf.equals(SQLITE_MAGIC);
  } finally {
    await fh.close();
  }
}

/** SQLite's side files: never archived (the backup copy is self-contained) and deleted after a restore. */
export function isSqliteSidecar(path: string): boolean {
  return /-(wal|shm|journal)$/.test(path);
}
