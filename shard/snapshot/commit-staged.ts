// Puts a verified staged tenant tree in place with renames, keeping the old directory until the swap is done.
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { AppError } from '../../router/index.ts';
import type { StagedRestore } from './snapshot-restore.ts';

export interface CommitOptions {
  /** Replace an existing directory at the target. Without it an existing target is refused. */
  readonly force?: boolean;
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Renames `staged.dir` to `finalDir`. With force and an existing target: rename the old one aside
 * (`.<name>.old-<rand>` in the same parent), rename the new one in, fsync the parent, then delete
 * the old one. A crash between the renames leaves the old tree intact beside the target.
 */
export async function commitStaged(staged: StagedRestore, finalDir: string, opts: CommitOptions = {}): Promise<void> {
  const parent = dirname(finalDir);
  await mkdir(parent, { recursive: true });
  let aside: string | null = null;
  if (await exists(finalDir)) {
    if (opts.force !== true) {
      await staged.discard();
      throw new AppError('SNAPSHOT_TARGET_EXISTS', { details: { target: basename(finalDir) } });
    }
    aside = join(parent, `.${basename(finalDir)}.old-${randomBytes(4).toString('hex')}`);
    await rename(finalDir, aside);
  }
  try {
    await rename(staged.dir, finalDir);
  } catch (err) {
    if (aside !== null) await rename(aside, finalDir).catch(() => undefined); // put the old tree back
    await staged.discard();
    throw new AppError('INTERNAL', { message: 'Moving the restored tenant into place failed.', cause: err });
  }
  await fsyncDir(parent);
  await staged.discard();
  if (aside !== null) await rm(aside, { recursive: true, force: true });
}
