// `openclawmu router`: runs one stateless router in the foreground until SIGTERM/SIGINT.
import type { Command } from 'commander';
import type { RunningRouter } from '../../router/node/start-router.ts';
import { exitWithError } from '../output.ts';
import { ADMIN_KEY_ENV, collectAdminKeys } from '../admin-key-sources.ts';

const collect = (v: string, prev: string[]): string[] => [...prev, v];

export function registerRouterCommand(program: Command): void {
  program
    .command('router')
    .description('Run a router: forwards each tenant to the shard that owns it (placement over the fleet manifest)')
    .option('--port <port>', 'TCP port (0 = any free port; default 18789)', (v) => Number.parseInt(v, 10))
    .option('--host <host>', 'address to listen on (default 127.0.0.1)')
    .option('--manifest <url>', 'the fleet manifest: file:///blob-dir, s3://bucket/prefix, http(s)://…, or a .json path')
    .option('--admin-key <ak_...>', 'an admin key allowed on the fleet-wide routes (repeatable; visible in ps: prefer the next two)', collect, [])
    .option('--admin-key-file <file>', `a file of admin keys, one a line (repeatable); ${ADMIN_KEY_ENV} is read too`, collect, [])
    .option('--config <file.yaml>', 'YAML config for everything else (see docs/router.md)')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent')
    .addHelpText('after', '\nOn start it prints one JSON line: {"event":"listening","component":"router","url":...}.\nSIGTERM/SIGINT: stop accepting, finish in-flight requests (bounded), exit 0.')
    .action(async (opts: { port?: number; host?: string; manifest?: string; adminKey: string[]; adminKeyFile: string[]; config?: string; logLevel?: string }) => {
      let router: RunningRouter;
      try {
        // Loaded here, not at the top: `openclawmu router --help` should not load the whole router.
        const { loadRouterConfig } = await import('../../router/node/router-config.ts');
        const { startRouter } = await import('../../router/node/start-router.ts');
        const adminKey = collectAdminKeys({ flags: opts.adminKey, files: opts.adminKeyFile, env: process.env[ADMIN_KEY_ENV] }, (m) => process.stderr.write(`warning: ${m}\n`));
        const config = loadRouterConfig({
          ...(opts.port === undefined ? {} : { port: opts.port }),
          ...(opts.host === undefined ? {} : { host: opts.host }),
          ...(opts.manifest === undefined ? {} : { manifest: opts.manifest }),
          ...(opts.config === undefined ? {} : { config: opts.config }),
          ...(opts.logLevel === undefined ? {} : { logLevel: opts.logLevel }),
          adminKey,
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
