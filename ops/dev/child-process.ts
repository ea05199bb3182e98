// A child `openclawmu` process of the dev fleet: started, awaited until it prints its listening line, stopped.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { AppError } from '../../router/errors/app-error.ts';
import { ERROR_CODES, type ErrorCode } from '../../router/errors/codes.ts';

// Children run the way this process runs: compiled (dist/ops/bin/openclawmu.js) or from the sources
// through the development entry (ops/bin/openclawmu.mjs, tsx).
const BIN = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? '../bin/openclawmu.mjs' : '../bin/openclawmu.js', import.meta.url));

export interface FleetChild {
  readonly name: string;
  readonly url: string;
  /** The OS process id (benchmarks read /proc/<pid> and pin it to a CPU). */
  readonly pid: number;
  readonly process: ChildProcess;
  /** Resolves with the exit code (null: killed by a signal) when the process ends. */
  readonly exited: Promise<number | null>;
  stop(timeoutMs?: number): Promise<void>;
}

/** Starts `openclawmu <args>`; every output line goes to `logPath`; resolves at the `{"event":"listening"}` line. */
export async function startChild(name: string, args: string[], logPath: string, env: NodeJS.ProcessEnv, startTimeoutMs = 30_000): Promise<FleetChild> {
  const log: WriteStream = createWriteStream(logPath, { flags: 'a', mode: 0o600 });
  await once(log, 'open');
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  void exited.then(() => log.end());
  child.stderr?.pipe(log, { end: false });
  // The child's own `error CODE: message` line (exitWithError), so a failed start keeps its code.
  let lastError: AppError | null = null;
  child.stderr?.on('data', (chunk: Buffer) => {
    for (const m of chunk.toString('utf8').matchAll(/^error ([A-Z][A-Z0-9_]+): (.*)$/gm)) {
      const code = m[1] as string;
      if (Object.hasOwn(ERROR_CODES, code)) lastError = new AppError(code as ErrorCode, { message: `${name}: ${m[2] as string} (see ${logPath})` });
    }
  });
  const url = await new Promise<string>((resolve, reject) => {
    let buf = '';
    let found = false;
    const timer = setTimeout(() => reject(new AppError('INTERNAL', { message: `${name} did not start within ${startTimeoutMs} ms (see ${logPath})` })), startTimeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      log.write(chunk);
      if (found) return;
      buf += chunk.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const ev = JSON.parse(line) as { event?: string; url?: string };
          if (ev.event === 'listening' && typeof ev.url === 'string') {
            found = true;
            clearTimeout(timer);
            resolve(ev.url);
            return;
          }
        } catch {
          // a log line, not the event
        }
      }
    });
    // 'close' (not 'exit'): stderr is read to its end, so the child's error line is in.
    void new Promise<number | null>((r) => child.once('close', (code) => r(code))).then((code) => {
      clearTimeout(timer);
      if (!found) reject(lastError ?? new AppError('INTERNAL', { message: `${name} exited with code ${code} before listening (see ${logPath})` }));
    });
  }).catch(async (err: unknown) => {
    child.kill('SIGKILL');
    await exited;
    throw err;
  });
  let stopping: Promise<void> | undefined;
  return {
    name,
    url,
    pid: child.pid!, // set: the child printed its listening line
    process: child,
    exited,
    stop(timeoutMs = 15_000) {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}
