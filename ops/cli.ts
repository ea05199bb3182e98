// The openclawmu command line: one commander program; each command family registers itself.
// Families are loaded on demand: `openclawmu billing ...` loads the billing commands only, not the
// shard and router (a CLI call is often a script's inner loop). The top-level help and --version load
// no family at all: they answer from the summaries below (test/cli-help.test.ts keeps them true).
import { Command } from 'commander';
import { packageVersion } from './package-info.ts';

type Register = (program: Command) => void;

interface Family {
  /** The family's top-level description, as its register function sets it. */
  readonly summary: string;
  readonly load: Array<() => Promise<Register>>;
}

/** Command family → its summary and the modules that register it (in order). */
export const FAMILIES: Record<string, Family> = {
  audit: {
    summary: 'Inspect a shard audit log (JSONL, hash-chained)',
    load: [async () => (await import('./commands/audit.ts')).registerAuditCommands],
  },
  billing: {
    summary: 'Bills from the usage ledger (cost snapshotted at call time from the rate card)',
    load: [async () => (await import('./commands/billing.ts')).registerBillingCommands],
  },
  cron: {
    summary: "A tenant's scheduled jobs: agent turns, webhooks, backups (admin key)",
    load: [async () => (await import('./commands/cron.ts')).registerCronCommands],
  },
  dev: {
    summary: 'Run a local fleet: shards and a router as child processes, state under --data; Ctrl-C stops it',
    load: [async () => (await import('./commands/dev.ts')).registerDevCommand],
  },
  fleet: {
    summary: 'The fleet: status through the router; add-shard, remove-shard, rebalance through the blob store',
    load: [
      async () => (await import('./commands/fleet-status.ts')).registerFleetCommands,
      async () => (await import('./commands/fleet-moves.ts')).registerFleetMoveCommands,
      async () => (await import('./commands/fleet-setup.ts')).registerFleetSetupCommands,
    ],
  },
  router: {
    summary: 'Run a router: forwards each tenant to the shard that owns it (placement over the fleet manifest)',
    load: [async () => (await import('./commands/router.ts')).registerRouterCommand],
  },
  shard: {
    summary: 'Run a shard: the gateway that owns a set of tenants (control plane, JSON-RPC, WebSocket)',
    load: [async () => (await import('./commands/shard.ts')).registerShardCommand],
  },
  tenants: {
    summary: 'Manage tenants through the router (admin key)',
    load: [
      async () => (await import('./commands/tenants.ts')).registerTenantsCommands,
      async () => (await import('./commands/backup.ts')).registerTenantsSnapshotCommands,
      async () => (await import('./commands/fleet-setup.ts')).registerTenantsThawCommand,
    ],
  },
};

function baseProgram(): Command {
  return new Command()
    .name('openclawmu')
    .description('openclawmu: a self-hosted multi-tenant AI gateway (router + shards) and its operator CLI')
    .version(packageVersion(), '-V, --version', 'print the version and exit')
    .showHelpAfterError()
    .configureOutput({ outputError: (str, write) => write(str) });
}

/** Builds the program with the named families (all of them when `only` is undefined). */
export async function buildProgram(only?: string): Promise<Command> {
  const program = baseProgram();
  const names = only !== undefined && Object.hasOwn(FAMILIES, only) ? [only] : Object.keys(FAMILIES).sort();
  for (const name of names) for (const load of FAMILIES[name]?.load ?? []) (await load())(program);
  return program;
}

/** The program as the top-level help shows it: each family by its summary, none of them loaded. */
export function summaryProgram(): Command {
  const program = baseProgram();
  for (const name of Object.keys(FAMILIES).sort()) program.command(name).description(FAMILIES[name]!.summary);
  program.addHelpText('after', '\nEach command has its own help: openclawmu <command> --help');
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const words = argv.slice(2).filter((a) => !a.startsWith('-'));
  // `openclawmu help shard` is `openclawmu shard --help`.
  const first = words[0] === 'help' ? words[1] : words[0];
  if (first === undefined || !Object.hasOwn(FAMILIES, first)) {
    await summaryProgram().parseAsync(argv);
    return;
  }
  await (await buildProgram(first)).parseAsync(argv);
}
