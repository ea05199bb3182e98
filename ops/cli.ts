// The openclawmu command line: one commander program; each command family registers itself.
import { Command } from 'commander';
import { registerAuditCommands } from './commands/audit.ts';
import { registerBillingCommands } from './commands/billing.ts';
import { registerDevCommand } from './commands/dev.ts';
import { registerFleetCommands } from './commands/fleet-status.ts';
import { registerFleetMoveCommands } from './commands/fleet-moves.ts';
import { registerRouterCommand } from './commands/router.ts';
import { registerShardCommand } from './commands/shard.ts';
import { registerTenantsCommands } from './commands/tenants.ts';
import { registerTenantsSnapshotCommands } from './commands/backup.ts';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('openclawmu')
    .description('openclawmu: a self-hosted multi-tenant AI gateway (router + shards) and its operator CLI')
    .showHelpAfterError()
    .configureOutput({ outputError: (str, write) => write(str) });
  // Command families (one line each; keep sorted):
  registerAuditCommands(program);
  registerBillingCommands(program);
  registerDevCommand(program);
  registerFleetCommands(program);
  registerFleetMoveCommands(program);
  registerRouterCommand(program);
  registerShardCommand(program);
  registerTenantsCommands(program);
  registerTenantsSnapshotCommands(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  await program.parseAsync(argv);
}
