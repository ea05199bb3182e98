// The openclawmu command line: one commander program; each command family registers itself.
import { Command } from 'commander';
import { registerAuditCommands } from './commands/audit.ts';
import { registerShardCommand } from './commands/shard.ts';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('openclawmu')
    .description('openclawmu: a self-hosted multi-tenant AI gateway (router + shards) and its operator CLI')
    .showHelpAfterError()
    .configureOutput({ outputError: (str, write) => write(str) });
  // Command families (one line each; keep sorted):
  registerAuditCommands(program);
  registerShardCommand(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  await program.parseAsync(argv);
}
