// `openclawmu fleet init | recover-shard` and `openclawmu tenants thaw`: a fleet's first manifest, a
// lost shard's tenants brought back from their backups, and a stuck freeze ended safely.
import type { Command } from 'commander';
import { AppError } from '../../router/errors/app-error.ts';
import { initFleet } from '../fleet/fleet-init.ts';
import { recoverShard } from '../fleet/recover-shard.ts';
import { thawTenant } from '../fleet/thaw-tenant.ts';
import { exitWithError, printResult, table } from '../output.ts';
import { resolveAdminKey, resolveBlob, withFleetOptions, type FleetOpts } from './fleet-moves.ts';

export function registerFleetSetupCommands(program: Command): void {
  const fleet = program.commands.find((c) => c.name() === 'fleet') ?? program.command('fleet').description('The fleet');
  const log = (opts: FleetOpts) => (line: string): void => {
    if (opts.json !== true) process.stderr.write(`${line}\n`);
  };

  fleet
    .command('init')
    .description('Start a fleet: write its first (empty) manifest to the blob store, create-only. Then add shards with `fleet add-shard`.')
    .option('--blob <url>', 'the fleet blob store: s3://bucket/prefix?endpoint=…&region=… or file:///dir (env OPENCLAWMU_BLOB)')
    .option('--create-bucket', 'create the S3 bucket (or the directory) first; one that already exists and is ours is fine')
    .option('--json', 'machine-readable output')
    .action(async (opts: { blob?: string; createBucket?: boolean; json?: boolean }) => {
      try {
        const url = opts.blob ?? process.env['OPENCLAWMU_BLOB'];
        if (url === undefined) throw new AppError('BLOB_URL_INVALID', { message: 'No blob store: pass --blob <url> or set OPENCLAWMU_BLOB.' });
        const r = await initFleet(url, { createBucket: opts.createBucket === true });
        printResult(opts, r, () => `${r.bucket === 'created' ? 'created the bucket; ' : ''}fleet manifest v${r.manifestVersion} written to ${r.manifestUrl} (no shards yet: \`openclawmu fleet add-shard <id> <url>\`)`);
      } catch (err) {
        exitWithError(err, opts.json === true);
      }
    });

  withFleetOptions(
    fleet
      .command('recover-shard <id>')
      .description("A shard lost for good: restore each of its tenants from its newest backup on its new placement owner, drop the shard from the manifest, fence it if it ever returns. Refused while the shard still answers."),
  ).action(async (id: string, opts: FleetOpts) => {
    try {
      const blob = resolveBlob(opts, process.env);
      const r = await recoverShard({ blob, adminKey: resolveAdminKey(opts, process.env), shardId: id, log: log(opts) });
      await blob.close();
      printResult(opts, r, () =>
        [
          r.committed ? `shard ${r.shard} removed (manifest v${r.manifestVersion}); ${r.recovered.length} tenant(s) restored` : `NOT committed: ${r.failed.length} tenant(s) failed; fix and re-run (the manifest is unchanged)`,
          ...(r.recovered.length === 0 ? [] : [table(['tenant', 'now on', 'restored from backup of', 'lost: changes after that'], r.recovered.map((x) => [x.tenant, x.to, x.backup, x.backupAt]))]),
          ...(r.withoutBackup.length === 0 ? [] : [`no backup, not restored: ${r.withoutBackup.join(', ')}`]),
          ...r.failed.map((f) => `failed: ${f.tenant} → ${f.to}: ${f.error}`),
        ].join('\n'),
      );
      if (!r.committed || r.failed.length > 0) process.exitCode = 3;
    } catch (err) {
      exitWithError(err, opts.json === true);
    }
  });
}

export function registerTenantsThawCommand(program: Command): void {
  const tenants = program.commands.find((c) => c.name() === 'tenants') ?? program.command('tenants').description('Manage tenants');
  withFleetOptions(tenants.command('thaw <id>').description('End a stuck freeze (a move that stopped after freezing): only on the shard the manifest names, never while a move of it is in flight')).action(
    async (id: string, opts: FleetOpts) => {
      try {
        const blob = resolveBlob(opts, process.env);
        const r = await thawTenant(blob, resolveAdminKey(opts, process.env), id);
        await blob.close();
        printResult(opts, r, () => (r.outcome === 'thawed' ? `thawed ${id} on ${r.shard}` : `${id} is not frozen on ${r.shard}: nothing to do`));
      } catch (err) {
        exitWithError(err, opts.json === true);
      }
    },
  );
}
