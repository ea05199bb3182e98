// Path containment for everything that comes from a request: resolve against the tenant root,
// refuse what escapes it, never follow symlinks (DESIGN §3).
import { lstatSync } from 'node:fs';
import { isAbsolute, join, normalize, resolve, sep } from 'node:path';
import { AppError } from '../../router/errors/app-error.ts';
import { assertTenantId } from '../../router/identity/tenant-id.ts';

export function tenantsRoot(dataDir: string): string {
  return join(resolve(dataDir), 'tenants');
}

/** The directory of a tenant; the id is validated so the result is always one level under tenants/. */
export function tenantDir(dataDir: string, tenantId: string): string {
  return join(tenantsRoot(dataDir), assertTenantId(tenantId));
}

function escape(relPath: string): AppError {
  return new AppError('SHARD_PATH_ESCAPE', { details: { path: relPath.slice(0, 200) } });
}

/**
 * Resolves a tenant-relative path inside `root`. Refuses absolute paths, NUL bytes, any `..`
 * segment, and any existing component along the way that is a symlink (lstat, no following).
 * Returns an absolute path that starts with `root + sep` (or equals root for "" / ".").
 */
export function resolveInside(root: string, relPath: string): string {
  if (typeof relPath !== 'string' || relPath.includes('\0') || isAbsolute(relPath) || relPath.includes('\\')) {
    throw escape(String(relPath));
  }
  const segments = relPath.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.some((s) => s === '..')) throw escape(relPath);
  const base = resolve(root);
  const target = resolve(base, normalize(segments.join('/') || '.'));
  if (target !== base && !target.startsWith(base + sep)) throw escape(relPath);
  // Walk the existing prefix with lstat: a planted symlink anywhere on the path is refused.
  let cur = base;
  for (const seg of segments) {
    cur = join(cur, seg);
    let st;
    try {
      st = lstatSync(cur);
    } catch {
      break; // the rest does not exist yet: nothing to follow
    }
    if (st.isSymbolicLink()) throw escape(relPath);
  }
  return target;
}
