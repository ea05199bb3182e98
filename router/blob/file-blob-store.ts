// The file:// blob store: keys map to files under one directory, written crash-safely and atomically.
import { createReadStream, createWriteStream } from 'node:fs';
import { link, lstat, mkdir, open, readdir, readFile, rename, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { hostname } from 'node:os';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError, isAppError } from '../errors/app-error.ts';
import { assertBlobKey, assertBlobPrefix, isBlobKey } from './blob-key.ts';
import type { BlobObject, BlobStat, BlobStore, PutOptions, PutStreamOptions } from './blob-store.ts';

/** Bookkeeping lives here; keys cannot name it because no key segment starts with a dot. */
const META_DIR = '.blobstore';

export interface FileBlobStoreOptions {
  /** A lock older than this is considered abandoned by a crashed writer and broken. */
  readonly lockLeaseMs?: number;
  /** How long a writer waits for another writer's lock on the same key. */
  readonly lockWaitMs?: number;
}

function io(op: string, key: string, cause: unknown): AppError {
  if (isAppError(cause)) return cause;
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  return new AppError('BLOB_IO', { details: { op, key, errno: code ?? 'unknown' }, cause });
}

function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** ETag from identity, not content: each write is a new inode (temp file + rename), so it changes on every write. */
function etagOf(st: BigIntStats): string {
  return `"${st.ino.toString(16)}-${st.size.toString(16)}-${st.mtimeNs.toString(16)}"`;
}

function delay(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

export class FileBlobStore implements BlobStore {
  readonly url: string;
  readonly #root: string;
  readonly #leaseMs: number;
  readonly #waitMs: number;

  constructor(rootDir: string, opts: FileBlobStoreOptions = {}) {
    this.#root = resolve(rootDir);
    this.url = pathToFileURL(this.#root).href;
    this.#leaseMs = opts.lockLeaseMs ?? 30_000;
    this.#waitMs = opts.lockWaitMs ?? 15_000;
  }

  /** The absolute path of a key: validated, under the root, with no symlink on the way (lstat). */
  async #pathOf(key: string): Promise<string> {
    assertBlobKey(key);
    const target = resolve(this.#root, key);
    if (!target.startsWith(this.#root + sep)) throw new AppError('BLOB_KEY_INVALID', { details: { key } });
    let cur = this.#root;
    for (const seg of key.split('/')) {
      cur = join(cur, seg);
      try {
        if ((await lstat(cur)).isSymbolicLink()) {
          throw new AppError('BLOB_IO', { message: 'A symlink in the blob store path is refused.', details: { key } });
        }
      } catch (err) {
        if (isAppError(err)) throw err;
        break; // the rest does not exist yet
      }
    }
    return target;
  }

  async #tmpPath(): Promise<string> {
    const dir = join(this.#root, META_DIR, 'tmp');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return join(dir, `${Date.now()}-${randomBytes(8).toString('hex')}.tmp`);
  }

  /**
   * Serialises writers of one key across processes: an exclusive-create lock file with a lease. A
   * lock whose holder was a process on this host that no longer exists (kill -9) is broken at once.
   */
  async #withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const dir = join(this.#root, META_DIR, 'locks');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const lockPath = join(dir, `${Buffer.from(key).toString('base64url')}.lock`);
    const deadline = Date.now() + this.#waitMs;
    let wait = 2;
    for (;;) {
      try {
        await writeFile(lockPath, JSON.stringify({ pid: process.pid, host: hostname(), at: new Date().toISOString() }), { flag: 'wx', mode: 0o600 });
        break;
      } catch (err) {
        if (errnoOf(err) !== 'EEXIST') throw io('lock', key, err);
      }
      try {
        const st = await stat(lockPath);
        if (Date.now() - st.mtimeMs > this.#leaseMs || (await holderIsDead(lockPath))) {
          // Abandoned by a crashed writer: move it aside (one breaker wins the rename) and retry.
          await rename(lockPath, `${lockPath}.${randomBytes(4).toString('hex')}.stale`).catch(() => undefined);
          continue;
        }
      } catch {
        continue; // released between our create and stat
      }
      if (Date.now() > deadline) {
        throw new AppError('BLOB_IO', { message: 'Timed out waiting for another writer of this key.', details: { key } });
      }
      await delay(wait);
      wait = Math.min(wait * 2, 50);
    }
    try {
      return await fn();
    } finally {
      await unlink(lockPath).catch(() => undefined);
      await this.#removeStaleLocks(dir);
    }
  }

  async #removeStaleLocks(dir: string): Promise<void> {
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) if (name.endsWith('.stale')) await unlink(join(dir, name)).catch(() => undefined);
  }

  async #statEtag(path: string): Promise<string | null> {
    try {
      return etagOf(await stat(path, { bigint: true }));
    } catch (err) {
      if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') return null;
      throw err;
    }
  }

  async #readFd(path: string): Promise<{ fh: FileHandle; st: BigIntStats } | null> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (err) {
      if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') return null;
      throw err;
    }
    const st = await fh.stat({ bigint: true });
    if (!st.isFile()) {
      await fh.close();
      return null; // a "directory" is a key prefix, not an object
    }
    return { fh, st };
  }

  async get(key: string): Promise<BlobObject | null> {
    const path = await this.#pathOf(key);
    try {
      const opened = await this.#readFd(path);
      if (opened === null) return null;
      try {
        const body = await opened.fh.readFile();
        return { body, etag: etagOf(opened.st) };
      } finally {
        await opened.fh.close();
      }
    } catch (err) {
      throw io('get', key, err);
    }
  }

  async getIfChanged(key: string, etag: string | undefined): Promise<BlobObject | 'not-modified' | null> {
    const path = await this.#pathOf(key);
    try {
      if (etag !== undefined && (await this.#statEtag(path)) === etag) return 'not-modified';
    } catch (err) {
      throw io('getIfChanged', key, err);
    }
    const obj = await this.get(key);
    if (obj !== null && etag !== undefined && obj.etag === etag) return 'not-modified';
    return obj;
  }

  async getStream(key: string): Promise<{ stream: Readable; size: number; etag: string } | null> {
    const path = await this.#pathOf(key);
    try {
      const opened = await this.#readFd(path);
      if (opened === null) return null;
      // Reading from the fd we stat'ed: a concurrent replace (rename) cannot change what we stream.
      const stream = createReadStream('', { fd: opened.fh, autoClose: true });
      return { stream, size: Number(opened.st.size), etag: etagOf(opened.st) };
    } catch (err) {
      throw io('getStream', key, err);
    }
  }

  async put(key: string, body: Buffer | string, opts: PutOptions = {}): Promise<{ etag: string }> {
    const path = await this.#pathOf(key);
    const tmp = await this.#tmpPath();
    try {
      const fh = await open(tmp, 'wx', 0o600);
      try {
        await fh.writeFile(typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
        await fh.sync();
      } finally {
        await fh.close();
      }
      return { etag: await this.#commit(key, path, tmp, opts) };
    } catch (err) {
      throw io('put', key, err);
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  }

  async putStream(key: string, body: Readable, opts: PutStreamOptions = {}): Promise<{ etag: string; size: number }> {
    const path = await this.#pathOf(key);
    const tmp = await this.#tmpPath();
    let size = 0;
    try {
      if (opts.ifNoneMatch === '*' && (await this.#statEtag(path)) !== null) {
        body.destroy();
        throw new AppError('BLOB_EXISTS', { details: { key } });
      }
      const counter = new Transform({
        transform(chunk: Buffer, _enc, done) {
          size += chunk.length;
          opts.onProgress?.(size);
          done(null, chunk);
        },
      });
      const out = createWriteStream(tmp, { flags: 'wx', mode: 0o600 });
      await pipeline(body, counter, out);
      const fh = await open(tmp, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      const ifNoneMatch = opts.ifNoneMatch;
      const etag = await this.#commit(key, path, tmp, ifNoneMatch === undefined ? {} : { ifNoneMatch });
      return { etag, size };
    } catch (err) {
      throw io('putStream', key, err);
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  }

  /** Moves a synced temp file into place under the key's lock, checking the precondition there. */
  async #commit(key: string, path: string, tmp: string, opts: PutOptions): Promise<string> {
    await mkdir(dirname(path), { recursive: true });
    return this.#withLock(key, async () => {
      const current = await this.#statEtag(path);
      if (opts.ifNoneMatch === '*' && current !== null) throw new AppError('BLOB_EXISTS', { details: { key } });
      if (opts.ifMatch !== undefined && current !== opts.ifMatch) {
        throw new AppError('BLOB_PRECONDITION_FAILED', { details: { key } });
      }
      if (opts.ifNoneMatch === '*') {
        // link() fails with EEXIST if anything appeared, even from a writer that ignores our locks.
        try {
          await link(tmp, path);
        } catch (err) {
          if (errnoOf(err) === 'EEXIST') throw new AppError('BLOB_EXISTS', { details: { key } });
          throw err;
        }
      } else {
        await rename(tmp, path);
      }
      await this.#fsyncDir(dirname(path));
      const etag = await this.#statEtag(path);
      if (etag === null) throw new AppError('BLOB_IO', { details: { op: 'commit', key } });
      return etag;
    });
  }

  async #fsyncDir(dir: string): Promise<void> {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  async stat(key: string): Promise<BlobStat | null> {
    const path = await this.#pathOf(key);
    try {
      const st = await stat(path, { bigint: true });
      if (!st.isFile()) return null;
      return { key, size: Number(st.size), etag: etagOf(st), lastModified: new Date(Number(st.mtimeMs)) };
    } catch (err) {
      if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') return null;
      throw io('stat', key, err);
    }
  }

  async delete(key: string): Promise<void> {
    const path = await this.#pathOf(key);
    try {
      await this.#withLock(key, async () => {
        try {
          await unlink(path);
        } catch (err) {
          if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') return;
          if (errnoOf(err) === 'EISDIR' || errnoOf(err) === 'EPERM') return; // a prefix, not an object
          throw err;
        }
        await this.#fsyncDir(dirname(path));
      });
      // Prune now-empty parent directories so listings and the tree stay tidy.
      let dir = dirname(path);
      while (dir.startsWith(this.#root + sep)) {
        try {
          await rmdir(dir);
        } catch {
          break;
        }
        dir = dirname(dir);
      }
    } catch (err) {
      throw io('delete', key, err);
    }
  }

  async list(prefix: string): Promise<BlobStat[]> {
    assertBlobPrefix(prefix);
    // Start the walk at the deepest directory the prefix fully names.
    const slash = prefix.lastIndexOf('/');
    const startRel = slash === -1 ? '' : prefix.slice(0, slash);
    const out: BlobStat[] = [];
    const walk = async (rel: string): Promise<void> => {
      const abs = rel === '' ? this.#root : join(this.#root, rel);
      let entries;
      try {
        entries = await readdir(abs, { withFileTypes: true });
      } catch (err) {
        if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') return;
        throw err;
      }
      for (const e of entries) {
        const childRel = rel === '' ? e.name : `${rel}/${e.name}`;
        if (!isBlobKey(childRel)) continue; // .blobstore and anything no key can name
        if (e.isDirectory()) {
          if (prefix.startsWith(`${childRel}/`) || childRel.startsWith(prefix) || prefix === '') await walk(childRel);
        } else if (e.isFile() && childRel.startsWith(prefix)) {
          try {
            const st = await stat(join(this.#root, childRel), { bigint: true });
            out.push({ key: childRel, size: Number(st.size), etag: etagOf(st), lastModified: new Date(Number(st.mtimeMs)) });
          } catch (err) {
            if (errnoOf(err) !== 'ENOENT') throw err; // deleted while listing
          }
        }
      }
    };
    try {
      await walk(startRel);
    } catch (err) {
      throw io('list', prefix, err);
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async close(): Promise<void> {
    // Nothing held open between calls.
  }
}


/** True when the lock names a process on this host that is gone (so it can never release it). */
async function holderIsDead(lockPath: string): Promise<boolean> {
  try {
    const held = JSON.parse(await readFile(lockPath, 'utf8')) as { pid?: unknown; host?: unknown };
    if (typeof held.pid !== 'number' || held.host !== hostname() || held.pid === process.pid) return false;
    try {
      process.kill(held.pid, 0);
      return false;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ESRCH';
    }
  } catch {
    return false;
  }
}
