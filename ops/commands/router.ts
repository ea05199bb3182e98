// `openclawmu router`: runs one stateless router in the foreground until SIGTERM/SIGINT.
import type { Command } from 'commander';
import { loadRouterConfig } from '../../router/node/router-config.ts';
import { startRouter, type RunningRouter } from '../../router/node/start-router.ts';
import { exitWithError } from '../output.ts';

const collect = (v: string, prev: string[]): string[] => [...prev, v];

export function registerRouterCommand(program: Command): void {
  program
    .command('router')
    .description('Run a router: forwards each tenant to the shard that owns it (placement over the fleet manifest)')
    .option('--port <port>', 'TCP port (0 = any free port; default 18789)', (v) => Number.parseInt(v, 10))
    .option('--host <host>', 'address to listen on (default 127.0.0.1)')
    .option('--manifest <url>', 'the fleet manifest: file:///blob-dir, s3://bucket/prefix, http(s)://…, or a .json path')
    .option('--admin-key <ak_...>', 'an admin key allowed on the fleet-wide routes (repeatable)', collect, [])
    .option('--config <file.yaml>', 'YAML config for everything else (see docs/router.md)')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent')
    .addHelpText('after', '\nOn start it prints one JSON line: {"event":"listening","component":"router","url":...}.\nSIGTERM/SIGINT: stop accepting, finish in-flight requests (bounded), exit 0.')
    .action(async (opts: { port?: number; host?: string; manifest?: string; adminKey: string[]; config?: string; logLevel?: string }) => {
      let router: RunningRouter;
      try {
        const config = loadRouterConfig({
          ...(opts.port === undefined ? {} : { port: opts.port }),
          ...(opts.host === undefined ? {} : { host: opts.host }),
          ...(opts.manifest === undefined ? {} : { manifest: opts.manifest }),
          ...(opts.config === undefined ? {} : { config: opts.config }),
          ...(opts.logLevel === undefined ? {} : { logLevel: opts.logLevel }),
          adminKey: opts.adminKey,
        });
        if (config.adminKeyHashes.length === 0) process.stderr.write('warning: no admin key configured; fleet-wide routes (/v1/tenants list, /v1/fleet) refuse every call\n');
        router = await startRouter(config);
      } catch (err) {
        exitWithError(err);
      }
      process.stdout.write(`${JSON.stringify({ event: 'listening', component: 'router', url: router.url, manifestVersion: router.poller.current()?.version ?? null })}\n`);
      const stop = (): void => {
        router.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
}
