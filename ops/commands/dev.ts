// `openclawmu dev`: a whole fleet on this machine (N shards + a router, file blob store) until Ctrl-C.
import type { Command } from 'commander';
import { join } from 'node:path';
import { startDevFleet } from '../dev/dev-fleet.ts';
import { exitWithError } from '../output.ts';

export function registerDevCommand(program: Command): void {
  program
    .command('dev')
    .description('Run a local fleet: shards and a router as child processes, state under --data; Ctrl-C stops it')
    .option('--shards <n>', 'number of shards (default 3, or what the data dir was created with)', (v) => Number.parseInt(v, 10))
    .option('--port <port>', 'router port (default 18789); shards take free ports, recorded in the manifest', (v) => Number.parseInt(v, 10))
    .option('--data <dir>', 'data directory', '.openclawmu')
    .option('--admin-key <ak_...>', 'admin key (default: generated once and kept in <data>/dev.json)')
    .option('--shard-config <file.yaml>', "a YAML file merged into every shard's config (e.g. features.channels.telegram.apiBaseUrl)")
    .action(async (opts: { shards?: number; port?: number; data: string; adminKey?: string; shardConfig?: string }) => {
      const started = Date.now();
      let fleet;
      try {
        fleet = await startDevFleet({
          data: opts.data,
          env: process.env,
          ...(opts.shards === undefined ? {} : { shards: opts.shards }),
          ...(opts.port === undefined ? {} : { port: opts.port }),
          ...(opts.adminKey === undefined ? {} : { adminKey: opts.adminKey }),
          ...(opts.shardConfig === undefined ? {} : { shardConfigFile: opts.shardConfig }),
        });
      } catch (err) {
        exitWithError(err);
      }
      const f = fleet;
      const shards = f.children.filter((c) => c.name !== 'router');
      // Signal handlers before the banner: a Ctrl-C (or a script's SIGINT) right after it must drain, not kill.
      let stopping = false;
      const stop = (signal: string): void => {
        if (stopping) return;
        stopping = true;
        process.stdout.write(`\n${signal}: stopping the router and draining the shards...\n`);
        f.stop().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.stdout.write(
        [
          `openclawmu dev fleet is up in ${((Date.now() - started) / 1000).toFixed(1)} s`,
          ``,
          `  router     ${f.routerUrl}`,
          ...shards.map((s) => `  shard ${s.name.padEnd(4)} ${s.url}`),
          `  manifest   ${f.blobUrl}/fleet/manifest.json (version ${f.manifest.version})`,
          `  admin key  ${f.adminKey}   (kept in ${join(f.dataDir, 'dev.json')})`,
          `  logs       ${join(f.dataDir, 'logs')}/`,
          `  models     echo (built-in: repeats your input, works offline)${f.providers.map((p) => `, ${p}/<model>`).join('')}${f.providers.length === 0 ? '; set OPENAI_API_KEY or ANTHROPIC_API_KEY (and *_BASE_URL) for real models' : ''}`,
          ``,
          `Try:`,
          `  curl -s ${f.routerUrl}/v1/fleet -H "authorization: Bearer ${f.adminKey}"`,
          `  npm run -s openclawmu -- tenants create demo`,
          `  npm run -s openclawmu -- tenants list`,
          `  npm run -s openclawmu -- fleet status`,
          ``,
          `Ctrl-C stops everything.`,
          ``,
        ].join('\n'),
      );
      // A shard that dies leaves the others serving (its tenants get 502); without the router nothing works.
      f.onExit((c, code) => {
        const log = join(f.dataDir, 'logs', `${c.name}.log`);
        if (c.name !== 'router') {
          process.stderr.write(`warning: shard ${c.name} exited (code ${code}); its tenants answer 502 until it is back (see ${log})\n`);
          return;
        }
        process.stderr.write(`error: the router exited (code ${code}); stopping the fleet (see ${log})\n`);
        stopping = true;
        f.stop().then(
          () => process.exit(1),
          () => process.exit(1),
        );
      });
    });
}
