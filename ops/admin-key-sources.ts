// Where `shard` and `router` take admin keys from: flags, files (--admin-key-file) and the
// OPENCLAWMU_ADMIN_KEY environment variable. Files and the environment keep keys out of `ps`.
import { readFileSync, statSync } from 'node:fs';
import { AppError } from '../router/errors/app-error.ts';

/** The environment variable a supervisor (systemd, Kubernetes, the dev fleet) sets. */
export const ADMIN_KEY_ENV = 'OPENCLAWMU_ADMIN_KEY';

export interface AdminKeySources {
  /** --admin-key values (visible in `ps`: kept for scripts and tests). */
  readonly flags: readonly string[];
  /** --admin-key-file paths: one key per line; blank lines and `#` comments ignored. */
  readonly files: readonly string[];
  /** The value of OPENCLAWMU_ADMIN_KEY: keys separated by commas or white space. */
  readonly env: string | undefined;
}

function splitKeys(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.replace(/#.*$/, ''))
    .flatMap((line) => line.split(/[\s,]+/))
    .filter((k) => k.length > 0);
}

/** Every admin key from every source, in order; `warn` hears about key files others may read. */
export function collectAdminKeys(src: AdminKeySources, warn: (message: string) => void): string[] {
  const keys = [...src.flags];
  for (const file of src.files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
      // Group/world bits on a key file: say so (Kubernetes secret volumes default to 0644 unless told).
      if ((statSync(file).mode & 0o077) !== 0) warn(`${file}: the admin key file is readable by other users; chmod 600 it`);
    } catch (err) {
      throw new AppError('CONFIG_INVALID', { message: `--admin-key-file ${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, cause: err });
    }
    const found = splitKeys(text);
    if (found.length === 0) throw new AppError('CONFIG_INVALID', { message: `--admin-key-file ${file}: no admin key in it` });
    keys.push(...found);
  }
  if (src.env !== undefined) keys.push(...splitKeys(src.env));
  return keys;
}
