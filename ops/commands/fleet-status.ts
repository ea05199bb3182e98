// `openclawmu fleet status`: the router's view of the fleet (manifest version, each shard's health and tenants).
import type { Command } from 'commander';
import { ControlClient, resolveClientTarget, withClientOptions, type ClientOptions } from '../client/control-client.ts';
import { exitWithError, table } from '../output.ts';

interface FleetView {
  manifest: { version: number; shards: number; overrides: number; confirmedAt: string | null };
  shards: { id: string; url: string; weight: number; status: string; tenants?: number | null; inflight?: number | null; latencyMs: number; error?: string }[];
  tenants: number;
}

export function registerFleetCommands(program: Command): void {
  const fleet = program.command('fleet').description('The fleet: status through the router; add-shard, remove-shard, rebalance through the blob store');
  withClientOptions(fleet.command('status').description('Manifest version and each shard: up/down, tenants, in-flight requests'))
    .action(async (opts: ClientOptions & { json?: boolean }) => {
      try {
        const { url, adminKey } = resolveClientTarget(opts, process.env);
        const v = await new ControlClient(url, adminKey).call<FleetView>('GET', '/v1/fleet');
        if (opts.json === true) {
          process.stdout.write(`${JSON.stringify(v)}\n`);
        } else {
          process.stdout.write(
            `router ${url}  manifest v${v.manifest.version}  shards ${v.manifest.shards}  overrides ${v.manifest.overrides}  tenants ${v.tenants}\n` +
              `${table(
                ['shard', 'status', 'tenants', 'inflight', 'weight', 'latency', 'url'],
                v.shards.map((s) => [s.id, s.status === 'down' ? `down (${s.error ?? '?'})` : s.status, String(s.tenants ?? '-'), String(s.inflight ?? '-'), String(s.weight), `${s.latencyMs} ms`, s.url]),
              )}\n`,
          );
        }
        if (v.shards.some((s) => s.status !== 'up')) process.exitCode = 3;
      } catch (err) {
        exitWithError(err, opts.json === true);
      }
    });
}
