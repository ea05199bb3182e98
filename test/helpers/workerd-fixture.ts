// Runs the router's Workers entry on a real workerd process (the `workerd` package's binary), on a
// loopback port it picks itself, with the given bindings; the test context owns the process.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { TestContext } from 'node:test';
import { bundleWorker } from '../../router/workers/bundle-worker.ts';
import { tempDir } from './shard-fixture.ts';

export interface RunningWorkerd {
  readonly url: string;
  /** Everything workerd printed (uncaught errors in the worker show up here). */
  readonly output: string[];
}

// The workerd package ships no types; its default export is the path of the binary for this platform.
const workerdBinary = (createRequire(import.meta.url)('workerd') as { default: string }).default;

/** A capnp text literal: the same escapes as JSON for what we put in it. */
const capnpText = (s: string): string => JSON.stringify(s);

export async function startWorkerdRouter(t: TestContext, bindings: Record<string, string>): Promise<RunningWorkerd> {
  const dir = tempDir(t, 'ocmu-workerd-');
  const bundle = await bundleWorker(dir);
  const modules = [`(name = "${bundle.main}", esModule = embed "${bundle.main}")`, ...bundle.wasm.map((w) => `(name = "${w}", wasm = embed "${w}")`)];
  const vars = Object.entries(bindings).map(([k, v]) => `(name = ${capnpText(k)}, text = ${capnpText(v)})`);
  writeFileSync(
    join(dir, 'config.capnp'),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "router", worker = (
      modules = [${modules.join(', ')}],
      compatibilityDate = "${bundle.compatibilityDate}",
      bindings = [${vars.join(', ')}],
      globalOutbound = "loopback",
    )),
    # The worker may reach loopback only (the shards and manifest of the test), nothing else.
    (name = "loopback", network = (allow = ["local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:0", http = (), service = "router")],
);
`,
  );
  const child = spawn(workerdBinary, ['serve', 'config.capnp', '--control-fd=3', '--verbose'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  const output: string[] = [];
  for (const s of [child.stdout as Readable, child.stderr as Readable]) createInterface({ input: s }).on('line', (l) => output.push(l));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  });
  const control = createInterface({ input: child.stdio[3] as Readable });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`workerd did not listen within 20 s:\n${output.join('\n')}`)), 20_000);
    control.on('line', (line) => {
      const ev = JSON.parse(line) as { event?: string; socket?: string; port?: number };
      if (ev.event === 'listen' && ev.socket === 'http' && typeof ev.port === 'number') {
        clearTimeout(timer);
        resolve(ev.port);
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`workerd exited before listening:\n${output.join('\n')}`));
    });
  });
  return { url: `http://127.0.0.1:${port}`, output };
}
