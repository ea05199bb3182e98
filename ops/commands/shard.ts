// `openclawmu shard`: runs one shard in the foreground until SIGTERM/SIGINT.
import { performance } from 'node:perf_hooks';
import type { Command } from 'commander';
import { loadShardConfig } from '../../shard/config/shard-config.ts';
import { startShard } from '../../shard/app/start-shard.ts';
import { exitWithError } from '../output.ts';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function registerShardCommand(program: Command): void {
  program
    .command('shard')
    .description('Run a shard: the gateway that owns a set of tenants (control plane, JSON-RPC, WebSocket)')
    .option('--id <id>', 'shard id (as in the fleet manifest)')
    .option('--port <port>', 'TCP port (0 = any free port)', (v) => Number.parseInt(v, 10))
    .option('--host <host>', 'address to listen on')
    .option('--data <dir>', 'data directory (tenants/, audit.log, tombstones/)')
    .option('--admin-key <ak_...>', 'an admin key allowed on the control plane (repeatable)', collect, [])
    .option('--config <file.yaml>', 'YAML config for everything else (see docs/configuration.md)')
    .option('--blob <url>', 'the fleet blob store (file:///dir or s3://bucket/prefix)')
    .addHelpText('after', '\non start it prints one JSON line: {"event":"listening","shardId":...,"url":...,"tenants":n,"startMs":ms}.\nSIGTERM/SIGINT: stop accepting, drain in-flight requests, close every database, exit 0.')
    .action(async (opts: { id?: string; port?: number; host?: string; data?: string; adminKey: string[]; config?: string; blob?: string }) => {
      let shard;
      let startMs = 0;
      try {
        const config = loadShardConfig({
          ...(opts.id === undefined ? {} : { id: opts.id }),
          ...(opts.port === undefined ? {} : { port: opts.port }),
          ...(opts.host === undefined ? {} : { host: opts.host }),
          ...(opts.data === undefined ? {} : { data: opts.data }),
          ...(opts.config === undefined ? {} : { config: opts.config }),
          ...(opts.blob === undefined ? {} : { blob: opts.blob }),
          adminKey: opts.adminKey,
        });
        if (config.adminKeyHashes.length === 0) {
          process.stderr.write('warning: no admin key configured; the control plane refuses every call (use --admin-key)\n');
        }
        const t0 = performance.now();
        shard = await startShard(config);
        startMs = Math.round(performance.now() - t0);
      } catch (err) {
        exitWithError(err);
      }
      process.stdout.write(`${JSON.stringify({ event: 'listening', shardId: shard.services.config.id, url: shard.url, tenants: shard.services.store.count(), startMs })}\n`);
      const stop = (signal: string): void => {
        shard.services.log.info({ signal }, 'stopping: draining in-flight requests');
        shard.close().then(
          () => process.exit(0),
          (err: unknown) => {
            shard.services.log.error({ err }, 'error while stopping');
            process.exit(1);
          },
        );
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
}
