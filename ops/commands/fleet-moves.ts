// `openclawmu fleet add-shard | remove-shard | rebalance`: change the fleet while traffic flows.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { AppError } from '../../router/errors/app-error.ts';
import { openBlobStore } from '../../router/blob/open-blob-store.ts';
import type { BlobStore } from '../../router/blob/blob-store.ts';
import { readDevState } from '../client/control-client.ts';
import { addShard, drainShard } from '../fleet/fleet-edits.ts';
import { rebalance, type RebalanceReport } from '../fleet/rebalance.ts';
import { exitWithError, table } from '../output.ts';

export interface FleetOpts {
  blob?: string;
  adminKey?: string;
  data: string;
  json?: boolean;
}

/** --blob → OPENCLAWMU_BLOB → the dev fleet's file://<data>/blobs. */
export function resolveBlob(opts: FleetOpts, env: NodeJS.ProcessEnv): BlobStore {
  const url = opts.blob ?? env['OPENCLAWMU_BLOB'] ?? (readDevState(opts.data) !== null ? `file://${resolve(opts.data, 'blobs')}` : undefined);
  if (url === undefined) throw new AppError('BLOB_URL_INVALID', { message: 'No blob store: pass --blob <url> or set OPENCLAWMU_BLOB (file:///dir or s3://bucket/prefix).' });
  return openBlobStore(url);
}

export function resolveAdminKey(opts: FleetOpts, env: NodeJS.ProcessEnv): string {
  const key = opts.adminKey ?? env['OPENCLAWMU_ADMIN_KEY'] ?? readDevState(opts.data)?.adminKey;
  if (key === undefined) throw new AppError('AUTH_REQUIRED', { message: 'No admin key: pass --admin-key or set OPENCLAWMU_ADMIN_KEY.' });
  return key;
}

export function withFleetOptions(cmd: Command): Command {
  return cmd
    .option('--blob <url>', 'the fleet blob store holding the manifest (env OPENCLAWMU_BLOB; default: the dev fleet under --data)')
    .option('--admin-key <ak_...>', 'admin key of the shards (env OPENCLAWMU_ADMIN_KEY; else <data>/dev.json)')
    .option('--data <dir>', 'where `openclawmu dev` keeps its state', '.openclawmu')
    .option('--json', 'machine-readable output');
}

function printReport(opts: FleetOpts, r: RebalanceReport, dryRun: boolean): void {
  if (opts.json === true) {
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return;
  }
  if (dryRun) {
    process.stdout.write(`${r.planned.length} tenant(s) would move (manifest v${r.manifestVersion})\n`);
    if (r.planned.length > 0) process.stdout.write(`${table(['tenant', 'from', 'to'], r.planned.map((m) => [m.tenant, m.from, m.to]))}\n`);
    return;
  }
  const frozen = r.done.map((d) => d.frozenMs).sort((a, b) => a - b);
  process.stdout.write(
    `moved ${r.done.length}/${r.planned.length}, failed ${r.failed.length}${r.resumed > 0 ? `, resumed ${r.resumed}` : ''}; ` +
      `frozen p50 ${frozen[Math.floor(frozen.length / 2)] ?? 0} ms, max ${frozen[frozen.length - 1] ?? 0} ms; manifest v${r.manifestVersion}` +
      `${r.removedShards.length > 0 ? `; removed shard(s) ${r.removedShards.join(', ')}` : ''}\n`,
  );
}

export function registerFleetMoveCommands(program: Command): void {
  const fleet = program.commands.find((c) => c.name() === 'fleet') ?? program.command('fleet').description('The fleet');
  const log = (opts: FleetOpts) => (line: string): void => {
    if (opts.json !== true) process.stderr.write(`${line}\n`);
  };

  withFleetOptions(fleet.command('add-shard <id> <url>').description('Add a running shard to the manifest. No tenant changes owner until `rebalance` moves it.'))
    .option('--weight <n>', 'relative capacity (default 1)', (v) => Number(v), 1)
    .action(async (id: string, url: string, opts: FleetOpts & { weight: number }) => {
      try {
        const blob = resolveBlob(opts, process.env);
        const r = await addShard(blob, resolveAdminKey(opts, process.env), { id, url, weight: opts.weight });
        await blob.close();
        if (opts.json === true) process.stdout.write(`${JSON.stringify({ id, ...r })}\n`);
        else process.stdout.write(`added shard ${id} (manifest v${r.manifestVersion}); ${r.toMove} tenant(s) will move to it: run \`openclawmu fleet rebalance\`\n`);
      } catch (err) {
        exitWithError(err, opts.json === true);
      }
    });

  withFleetOptions(fleet.command('remove-shard <id>').description('Drain a shard: placement skips it, its tenants move away, then it leaves the manifest.'))
    .option('--concurrency <n>', 'tenants moved at once', (v) => Number.parseInt(v, 10), 2)
    .option('--no-rebalance', 'only mark it draining; move its tenants later with `rebalance`')
    .action(async (id: string, opts: FleetOpts & { concurrency: number; rebalance: boolean }) => {
      try {
        const blob = resolveBlob(opts, process.env);
        const adminKey = resolveAdminKey(opts, process.env);
        const d = await drainShard(blob, adminKey, id);
        log(opts)(`shard ${id} is draining (manifest v${d.manifestVersion}); ${d.toMove} tenant(s) to move`);
        if (opts.rebalance) {
          const r = await rebalance({ blob, adminKey, concurrency: opts.concurrency, dryRun: false, log: log(opts), reason: `remove-shard ${id}` });
          printReport(opts, r, false);
          if (r.failed.length > 0) process.exitCode = 3;
        } else if (opts.json === true) process.stdout.write(`${JSON.stringify({ id, ...d })}\n`);
        await blob.close();
      } catch (err) {
        exitWithError(err, opts.json === true);
      }
    });

  withFleetOptions(fleet.command('rebalance').description('Move every tenant whose placement owner changed; resumes or rolls back a crashed run first.'))
    .option('--dry-run', 'print the plan and change nothing')
    .option('--concurrency <n>', 'tenants moved at once', (v) => Number.parseInt(v, 10), 2)
    .action(async (opts: FleetOpts & { dryRun?: boolean; concurrency: number }) => {
      try {
        if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1 || opts.concurrency > 64) throw new AppError('VALIDATION_FAILED', { message: '--concurrency is 1..64' });
        const blob = resolveBlob(opts, process.env);
        const r = await rebalance({ blob, adminKey: resolveAdminKey(opts, process.env), concurrency: opts.concurrency, dryRun: opts.dryRun === true, log: log(opts) });
        await blob.close();
        printReport(opts, r, opts.dryRun === true);
        if (r.failed.length > 0) process.exitCode = 3;
      } catch (err) {
        exitWithError(err, opts.json === true);
      }
    });
}
