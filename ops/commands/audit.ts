// `openclawmu audit verify <file>`: checks an audit log's hash chain.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { AppError } from '../../router/errors/app-error.ts';
import { verifyAuditText } from '../../shard/audit/audit-verify.ts';
import { exitWithError } from '../output.ts';

export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('Inspect a shard audit log (JSONL, hash-chained)');
  audit
    .command('verify <file>')
    .description('Verify the hash chain; reports the first broken record (edit, deletion, insertion, reorder). A torn last line is tolerated and reported.')
    .option('--json', 'machine-readable output')
    .action((file: string, opts: { json?: boolean }) => {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        exitWithError(new AppError('BAD_REQUEST', { message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}` }), opts.json);
      }
      const res = verifyAuditText(text);
      if (opts.json === true) process.stdout.write(`${JSON.stringify(res)}\n`);
      else if (res.ok) {
        process.stdout.write(`ok: ${res.records} records, chain intact${res.tornTail ? ' (torn last line ignored: a crash mid-append)' : ''}\n`);
      } else {
        const b = res.firstBroken;
        process.stdout.write(`BROKEN at line ${b?.line} (seq ${b?.seq ?? '?'}): ${b?.problem}: ${b?.detail}\n${res.records} records verified before it\n`);
      }
      process.exit(res.ok ? 0 : 3);
    });
}
