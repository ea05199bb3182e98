// The openclawmu command line: one commander program; each command family registers itself.
// Families are loaded on demand: `openclawmu billing ...` loads the billing commands only, not the
// shard and router (a CLI call is often a script's inner loop); help and unknown names load them all.
import { Command } from 'commander';

type Register = (program: Command) => void;

/** Command family → the modules that register it (in order). */
const FAMILIES: Record<string, Array<() => Promise<Register>>> = {
  audit: [async () => (await import('./commands/audit.ts')).registerAuditCommands],
  billing: [async () => (await import('./commands/billing.ts')).registerBillingCommands],
  cron: [async () => (await import('./commands/cron.ts')).registerCronCommands],
  dev: [async () => (await import('./commands/dev.ts')).registerDevCommand],
  fleet: [
    async () => (await import('./commands/fleet-status.ts')).registerFleetCommands,
    async () => (await import('./commands/fleet-moves.ts')).registerFleetMoveCommands,
  ],
  router: [async () => (await import('./commands/router.ts')).registerRouterCommand],
  shard: [async () => (await import('./commands/shard.ts')).registerShardCommand],
  tenants: [
    async () => (await import('./commands/tenants.ts')).registerTenantsCommands,
    async () => (await import('./commands/backup.ts')).registerTenantsSnapshotCommands,
  ],
};

/** Builds the program with the named families (all of them when `only` is undefined). */
export async function buildProgram(only?: string): Promise<Command> {
  const program = new Command();
  program
    .name('openclawmu')
    .description('openclawmu: a self-hosted multi-tenant AI gateway (router + shards) and its operator CLI')
    .showHelpAfterError()
    .configureOutput({ outputError: (str, write) => write(str) });
  const names = only !== undefined && Object.hasOwn(FAMILIES, only) ? [only] : Object.keys(FAMILIES).sort();
  for (const name of names) for (const load of FAMILIES[name] ?? []) (await load())(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const first = argv.slice(2).find((a) => !a.startsWith('-'));
  const program = await buildProgram(first);
  await program.parseAsync(argv);
}
