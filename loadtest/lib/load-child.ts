// Benchmark child processes: spawned on one CPU when asked (taskset), owned until they exit, and
// load generators run to completion for the one JSON line they print.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { once } from 'node:events';

/** Every child process a benchmark starts, so that one place can stop them all. */
export class ChildOwner {
  readonly #children = new Set<ChildProcess>();

  /** Spawns `cmd args`, under `taskset -c <cpu>` when `cpu` is given (taskset execs, so the pid is the command's). */
  spawn(cmd: string, args: string[], cpu: number | undefined, stdio: StdioOptions): ChildProcess {
    const child = cpu === undefined ? spawn(cmd, args, { stdio }) : spawn('taskset', ['-c', String(cpu), cmd, ...args], { stdio });
    this.#children.add(child);
    child.once('exit', () => this.#children.delete(child));
    child.once('error', () => this.#children.delete(child));
    return child;
  }

  /** SIGTERM to every live child, SIGKILL to those still alive after `graceMs`. */
  async stopAll(graceMs = 3000): Promise<void> {
    await Promise.all([...this.#children].map((c) => stopProcess(c, graceMs)));
  }

  /** Last resort on process exit, where nothing can be awaited. */
  killAllNow(): void {
    for (const c of this.#children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
}

export async function stopProcess(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Runs `node <script> <args>` to its end and parses the last line it printed as JSON; kills it past `timeoutMs`. */
export async function runJsonChild<T>(owner: ChildOwner, script: string, args: string[], cpu: number | undefined, timeoutMs: number): Promise<T> {
  const child = owner.spawn(process.execPath, [script, ...args], cpu, ['ignore', 'pipe', 'pipe']);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString('utf8')));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  try {
    // 'close', not 'exit': stdout is fully read by then. once() rejects on the child's 'error'.
    const [code] = (await once(child, 'close')) as [number | null];
    const name = script.split('/').pop();
    if (timedOut) throw new Error(`${name} did not finish within ${timeoutMs} ms`);
    if (code !== 0) throw new Error(`${name} exited with ${code}: ${err.trim().slice(-500)}`);
    const line = out.trim().split('\n').pop() ?? '';
    return JSON.parse(line) as T;
  } finally {
    clearTimeout(timer);
  }
}
