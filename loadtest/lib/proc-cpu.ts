// CPU of a benchmarked process, read from /proc: time consumed (all threads) and the CPUs it may run on.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let clkTck: number | undefined;

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (`getconf CLK_TCK`, usually 100). */
export function clockTicksPerSecond(): number {
  clkTck ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
  if (!Number.isFinite(clkTck) || clkTck <= 0) throw new Error(`getconf CLK_TCK returned ${clkTck}`);
  return clkTck;
}

/** utime + stime of the whole process (every thread, live or ended), in microseconds; tick resolution. */
export function cpuTimeUs(pid: number): number {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (err) {
    throw new Error(`process ${pid} is gone (it exited during the benchmark?)`, { cause: err });
  }
  // Fields after the command name, which is in parentheses and may itself contain spaces or ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state): utime is field 14, stime field 15.
  const ticks = Number(rest[11]) + Number(rest[12]);
  if (!Number.isFinite(ticks)) throw new Error(`cannot parse /proc/${pid}/stat`);
  return (ticks * 1e6) / clockTicksPerSecond();
}

/** Restricts every current thread of `pid` to `cpu` (threads it starts later inherit the mask). */
export function pinToCpu(pid: number, cpu: number): void {
  execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
}

/** The distinct `Cpus_allowed_list` values over the threads of `pid` (one value when it is pinned). */
export function allowedCpus(pid: number): string[] {
  const lists = new Set<string>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const m = /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'));
      if (m?.[1]) lists.add(m[1]);
    } catch {
      // the thread ended between readdir and read
    }
  }
  return [...lists].sort();
}
