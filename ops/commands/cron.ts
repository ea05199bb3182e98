// `openclawmu cron list|get|add|update|remove|enable|disable|run|runs|status`: a tenant's cron jobs through the control plane.
import type { Command } from 'commander';
import { AppError } from '../../router/errors/app-error.ts';
import { ControlClient, resolveClientTarget, withClientOptions, type ClientOptions } from '../client/control-client.ts';
import { exitWithError, printResult as print, table } from '../output.ts';

interface Opts extends ClientOptions {
  json?: boolean;
}

interface AddOpts extends Opts {
  name: string;
  schedule?: string;
  every?: string;
  at?: string;
  tz?: string;
  action: string;
  prompt?: string;
  agent?: string;
  session?: string;
  webhookUrl?: string;
  secret?: string;
  keep?: number;
  missed?: string;
  window?: string;
  cap?: number;
  retry?: number;
  backoff?: string;
  disabled?: boolean;
  spec?: string;
}

type Job = Record<string, unknown> & { id: string; name: string; enabled: boolean; nextRunAt: string | null; schedule: unknown };
type Run = { scheduledAt: string; startedAt: string; finishedAt: string | null; outcome: string; trigger?: string; attempts?: number; error?: { code: string; message: string } };

function clientOf(opts: Opts): ControlClient {
  const { url, adminKey } = resolveClientTarget(opts, process.env);
  return new ControlClient(url, adminKey);
}

const base = (tenant: string): string => `/v1/tenants/${encodeURIComponent(tenant)}/cron`;
const jobPath = (tenant: string, job: string): string => `${base(tenant)}/${encodeURIComponent(job)}`;

function parseSpec(text: string): Record<string, unknown> {
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    /* reported below */
  }
  throw new AppError('VALIDATION_FAILED', { message: '--spec takes a JSON object, e.g. \'{"name":"n","schedule":"0 3 * * *","action":{"type":"backup","keep":7}}\'' });
}

/** The cron.add body from flags (or `--spec <json>` as is). */
export function addBody(o: AddOpts): Record<string, unknown> {
  if (o.spec !== undefined) return parseSpec(o.spec);
  const schedules = [o.schedule, o.every === undefined ? undefined : { every: o.every }, o.at === undefined ? undefined : { at: o.at }].filter((s) => s !== undefined);
  if (schedules.length !== 1) throw new AppError('VALIDATION_FAILED', { message: 'give exactly one of --schedule "<cron>", --every <duration>, --at <ISO time>' });
  let action: Record<string, unknown>;
  switch (o.action) {
    case 'agent':
      action = { type: 'agent', prompt: o.prompt ?? '', ...(o.agent === undefined ? {} : { agent: o.agent }), ...(o.session === undefined ? {} : { session: o.session }) };
      break;
    case 'webhook':
      action = { type: 'webhook', url: o.webhookUrl ?? '', ...(o.secret === undefined ? {} : { secret: o.secret }) };
      break;
    case 'backup':
      action = { type: 'backup', keep: o.keep ?? 7 };
      break;
    default:
      throw new AppError('VALIDATION_FAILED', { message: '--action is agent, webhook or backup' });
  }
  const missed = o.missed === undefined ? undefined : o.window === undefined && o.cap === undefined ? o.missed : { policy: o.missed, ...(o.window === undefined ? {} : { window: o.window }), ...(o.cap === undefined ? {} : { cap: o.cap }) };
  return {
    name: o.name,
    schedule: schedules[0],
    ...(o.tz === undefined ? {} : { tz: o.tz }),
    action,
    ...(missed === undefined ? {} : { missed }),
    ...(o.retry === undefined ? {} : { retry: { attempts: o.retry, ...(o.backoff === undefined ? {} : { backoff: o.backoff }) } }),
    ...(o.disabled === true ? { enabled: false } : {}),
  };
}

function scheduleText(s: unknown): string {
  return typeof s === 'string' ? s : JSON.stringify(s);
}

function jobsTable(jobs: Job[]): string {
  return table(
    ['id', 'name', 'schedule', 'action', 'enabled', 'next run'],
    jobs.map((j) => [j.id, j.name, scheduleText(j.schedule), String((j.action as { type?: string }).type ?? ''), String(j.enabled), j.nextRunAt ?? '-']),
  );
}

const int = (v: string): number => Number.parseInt(v, 10);

export function registerCronCommands(program: Command): void {
  const cron = program.command('cron').description("A tenant's scheduled jobs: agent turns, webhooks, backups (admin key)");

  const run = (fn: (opts: Opts) => Promise<void>) => async (opts: Opts) => {
    try {
      await fn(opts);
    } catch (err) {
      exitWithError(err, opts.json === true);
    }
  };

  withClientOptions(cron.command('list <tenant>').description("List a tenant's jobs")).action((tenant: string, opts: Opts) =>
    run(async (o) => {
      const res = await clientOf(o).call<{ jobs: Job[] }>('GET', base(tenant));
      print(o, res, () => jobsTable(res.jobs));
    })(opts),
  );

  withClientOptions(cron.command('status <tenant>').description("A tenant's cron at a glance")).action((tenant: string, opts: Opts) =>
    run(async (o) => {
      const res = await clientOf(o).call<Record<string, unknown>>('GET', `${base(tenant)}/status`);
      print(o, res, () => table(['field', 'value'], Object.entries(res).map(([k, v]) => [k, typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)])));
    })(opts),
  );

  withClientOptions(cron.command('get <tenant> <job>').description('Show one job')).action((tenant: string, job: string, opts: Opts) =>
    run(async (o) => {
      const res = await clientOf(o).call<Job>('GET', jobPath(tenant, job));
      print(o, res, () => table(['field', 'value'], Object.entries(res).map(([k, v]) => [k, typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)])));
    })(opts),
  );

  withClientOptions(cron.command('add <tenant>').description('Add a job; prints its id and next run'))
    .option('--name <name>', 'a name for people', 'job')
    .option('--schedule <cron>', 'a cron expression, 5 fields or 6 with seconds, e.g. "0 3 * * *"')
    .option('--every <duration>', 'e.g. 90s, 15m, 2h')
    .option('--at <iso>', 'one run at this time, e.g. 2026-12-24T18:00:00+01:00')
    .option('--tz <zone>', 'IANA time zone of a cron expression (default UTC)')
    .option('--action <type>', 'agent | webhook | backup', 'agent')
    .option('--prompt <text>', 'agent: what to ask')
    .option('--agent <name>', 'agent: which of the tenant\'s agents')
    .option('--session <name>', 'agent: a named session (default cron:<jobId>)')
    .option('--webhook-url <url>', 'webhook: where to POST')
    .option('--secret <secret>', 'webhook: HMAC-SHA256 signing secret (16+ chars)')
    .option('--keep <n>', 'backup: snapshots kept', int)
    .option('--missed <policy>', 'skip | once | catchup (default once)')
    .option('--window <duration>', 'catchup: how far back (default 24h)')
    .option('--cap <n>', 'catchup: at most this many missed runs (default 3)', int)
    .option('--retry <n>', 're-runs of a failed or interrupted run (default 0)', int)
    .option('--backoff <duration>', 'delay before the first re-run (default 30s)')
    .option('--disabled', 'add it disabled')
    .option('--spec <json>', 'the whole cron.add body as JSON instead of the flags above')
    .action((tenant: string, opts: AddOpts) =>
      run(async (o) => {
        const res = await clientOf(o).call<{ id: string; nextRunAt: string | null }>('POST', base(tenant), addBody(opts));
        print(o, res, () => `added ${res.id}; next run ${res.nextRunAt ?? 'never'}`);
      })(opts),
    );

  withClientOptions(cron.command('update <tenant> <job>').description('Change a job: --spec with the fields to change'))
    .requiredOption('--spec <json>', 'fields to change, e.g. \'{"schedule":"0 4 * * *"}\'')
    .action((tenant: string, job: string, opts: Opts & { spec: string }) =>
      run(async (o) => {
        const res = await clientOf(o).call<Job>('PATCH', jobPath(tenant, job), parseSpec(opts.spec));
        print(o, res, () => `updated ${res.id}; next run ${res.nextRunAt ?? 'never'}`);
      })(opts),
    );

  for (const [verb, method, suffix, summary] of [
    ['remove', 'DELETE', '', 'Remove a job and its run history'],
    ['enable', 'POST', '/enable', 'Enable a job (from its next time; no catch-up)'],
    ['disable', 'POST', '/disable', 'Disable a job'],
    ['run', 'POST', '/run', 'Run a job now (answers once the run is claimed)'],
  ] as const) {
    withClientOptions(cron.command(`${verb} <tenant> <job>`).description(summary)).action((tenant: string, job: string, opts: Opts) =>
      run(async (o) => {
        const res = await clientOf(o).call<Record<string, unknown>>(method, `${jobPath(tenant, job)}${suffix}`);
        print(o, res, () => `${verb}: ${job}${typeof res.scheduledAt === 'string' ? ` (claimed for ${res.scheduledAt})` : ''}`);
      })(opts),
    );
  }

  withClientOptions(cron.command('runs <tenant> <job>').description("A job's runs, newest first"))
    .option('--limit <n>', 'how many (1..1000)', int, 20)
    .action((tenant: string, job: string, opts: Opts & { limit: number }) =>
      run(async (o) => {
        const res = await clientOf(o).call<{ runs: Run[] }>('GET', `${jobPath(tenant, job)}/runs?limit=${opts.limit}`);
        print(o, res, () =>
          table(
            ['scheduled', 'started', 'finished', 'outcome', 'trigger', 'attempts', 'error'],
            res.runs.map((r) => [r.scheduledAt, r.startedAt, r.finishedAt ?? '-', r.outcome, r.trigger ?? '', String(r.attempts ?? 1), r.error === undefined ? '' : `${r.error.code}: ${r.error.message}`]),
          ),
        );
      })(opts),
    );
}
