// Bundles the Workers entry into one ES module plus the wasm module it imports, the way wrangler does,
// so workerd can run it without wrangler (tests, or a self-hosted workerd).
import { copyFileSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { AppError } from '../errors/app-error.ts';

export interface WorkerBundle {
  /** The ES module (file name inside `outDir`). */
  readonly main: string;
  /** Wasm modules the bundle imports by these names (files of the same name inside `outDir`). */
  readonly wasm: readonly string[];
  /** From wrangler.toml, so the test runs with what a deploy uses. */
  readonly compatibilityDate: string;
}

const HERE = dirname(fileURLToPath(import.meta.url));

export async function bundleWorker(outDir: string): Promise<WorkerBundle> {
  await build({
    entryPoints: [join(HERE, 'worker.ts')],
    outfile: join(outDir, 'worker.js'),
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    mainFields: ['module', 'main'],
    // xxhash-wasm's workerd build imports its .wasm as a module (a Workers runtime compiles no wasm bytes at run time).
    conditions: ['workerd', 'worker', 'browser'],
    external: ['*.wasm'],
    logLevel: 'silent',
  });
  // The package exports no package.json; its CommonJS build sits in cjs/ beside workerd/.
  const wasm = join(dirname(createRequire(import.meta.url).resolve('xxhash-wasm')), '..', 'workerd', 'xxhash.wasm');
  copyFileSync(wasm, join(outDir, 'xxhash.wasm'));
  const toml = readFileSync(join(HERE, 'wrangler.toml'), 'utf8');
  const date = /^compatibility_date\s*=\s*"([0-9-]+)"/m.exec(toml)?.[1];
  if (date === undefined) throw new AppError('CONFIG_INVALID', { message: 'router/workers/wrangler.toml names no compatibility_date' });
  return { main: 'worker.js', wasm: ['xxhash.wasm'], compatibilityDate: date };
}
