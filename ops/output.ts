// How the CLI reports: tables for people, --json for scripts, errors with their stable code.
import { isAppError, toAppError } from '../router/errors/app-error.ts';

/** Prints an error as `error CODE: message` (or JSON with --json) and exits non-zero. */
export function exitWithError(err: unknown, json = false): never {
  const e = isAppError(err) ? err : toAppError(err);
  // An unknown throw says what went wrong in its own message; ours already say it once.
  const detail = e.code === 'INTERNAL' && !isAppError(err) && err instanceof Error ? `${e.message} (${err.message})` : e.message;
  if (json) process.stdout.write(`${JSON.stringify({ error: { code: e.code, message: detail, ...(e.details === undefined ? {} : { details: e.details }) } })}\n`);
  else process.stderr.write(`error ${e.code}: ${detail}\n`);
  process.exit(e.code === 'INTERNAL' ? 1 : 2);
}

/** A byte count for people: 512 B, 3.4 KiB, 12.0 MiB, 1.2 GiB. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/** A plain text table: columns padded to the widest cell. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** Prints a command's result: JSON (one line) with --json, else the human rendering. */
export function printResult(opts: { json?: boolean }, value: unknown, human: () => string): void {
  process.stdout.write(`${opts.json === true ? JSON.stringify(value) : human()}\n`);
}
