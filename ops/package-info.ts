// The package's own name and version, read from package.json beside the sources or beside dist/.
import { existsSync, readFileSync } from 'node:fs';

/** ops/ in a checkout is one level under the package root; dist/ops/ in the package is two. */
const CANDIDATES = ['../package.json', '../../package.json'];

export function packageVersion(): string {
  for (const rel of CANDIDATES) {
    const url = new URL(rel, import.meta.url);
    if (!existsSync(url)) continue;
    const pkg = JSON.parse(readFileSync(url, 'utf8')) as { name?: unknown; version?: unknown };
    if (pkg.name === 'openclawmu' && typeof pkg.version === 'string') return pkg.version;
  }
  return 'unknown';
}
