// How the CLI reports: tables for people, --json for scripts, errors with their stable code.
import { isAppError, toAppError } from '../router/errors/app-error.ts';

/** Prints an error as `error CODE: message` (or JSON with --json) and exits non-zero. */
export function exitWithError(err: unknown, json = false): never {
  const e = isAppError(err) ? err : toAppError(err);
  const detail = e.code === 'INTERNAL' && err instanceof Error ? `${e.message} (${err.message})` : e.message;
  if (json) process.stdout.write(`${JSON.stringify({ error: { code: e.code, message: detail, ...(e.details === undefined ? {} : { details: e.details }) } })}\n`);
  else process.stderr.write(`error ${e.code}: ${detail}\n`);
  process.exit(e.code === 'INTERNAL' ? 1 : 2);
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
