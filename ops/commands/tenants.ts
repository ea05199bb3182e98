// `openclawmu tenants create|list|info|update|rotate|delete`: the control plane, through the router.
import type { Command } from 'commander';
import { AppError } from '../../router/errors/app-error.ts';
import { ControlClient, resolveClientTarget, withClientOptions, type ClientOptions } from '../client/control-client.ts';
import { exitWithError, printResult as print, table } from '../output.ts';

interface GlobalOpts extends ClientOptions {
  json?: boolean;
}

interface TenantView {
  id: string;
  displayName?: string | null;
  shard?: string;
  state?: string;
  epoch?: number;
  disabled?: boolean;
  createdAt?: string;
  quota?: Record<string, unknown>;
  token?: string;
  [k: string]: unknown;
}

function clientOf(opts: GlobalOpts): ControlClient {
  const { url, adminKey } = resolveClientTarget(opts, process.env);
  return new ControlClient(url, adminKey);
}

/** `--quota requestsPerMinute=60` (repeatable); `=null` clears a limit on update. */
function parseQuota(pairs: string[], allowNull: boolean): Record<string, number | null> | undefined {
  if (pairs.length === 0) return undefined;
  const out: Record<string, number | null> = {};
  for (const p of pairs) {
    const m = /^([A-Za-z]+)=(.+)$/.exec(p);
    const v = m?.[2];
    if (m === null || v === undefined) throw new AppError('VALIDATION_FAILED', { message: `--quota ${p}: expected name=value` });
    if (v === 'null' && allowNull) out[m[1] as string] = null;
    else if (Number.isFinite(Number(v))) out[m[1] as string] = Number(v);
    else throw new AppError('VALIDATION_FAILED', { message: `--quota ${p}: the value is a number${allowNull ? ' or null' : ''}` });
  }
  return out;
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

function detail(t: TenantView): string {
  return table(
    ['field', 'value'],
    Object.entries(t)
      .filter(([k]) => k !== 'token')
      .map(([k, v]) => [k, typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)]),
  );
}

export function registerTenantsCommands(program: Command): void {
  const tenants = program.command('tenants').description('Manage tenants through the router (admin key)');

  withClientOptions(tenants.command('create <id>').description('Create a tenant; prints its token once'))
    .option('--display-name <name>', 'a human name')
    .option('--quota <name=value>', 'a quota limit, e.g. requestsPerMinute=60 (repeatable)', collect, [])
    .action(async (id: string, opts: GlobalOpts & { displayName?: string; quota: string[] }) => {
      try {
        const quota = parseQuota(opts.quota, false);
        const body = { id, ...(opts.displayName === undefined ? {} : { displayName: opts.displayName }), ...(quota === undefined ? {} : { quota }) };
        const t = await clientOf(opts).call<TenantView>('POST', '/v1/tenants', body);
        print(opts, t, () => `created tenant ${t.id} on shard ${t.shard ?? '?'}\ntoken (shown once, keep it): ${t.token ?? '?'}`);
      } catch (err) {
        exitWithError(err, opts.json === true);
      }
    });

  withClientOptions(tenants.command('list').description('List tenants across the fleet'))
    .option('--limit <n>', 'page size (1..500)', (v) => Number.parseInt(v, 10), 100)
    .option('--cursor <id>', 'start after this tenant id')
    .option('--all', 'follow every page')
    .action(async (opts: GlobalOpts & { limit: number; cursor?: string; all?: boolean }) => {
      try {
        const client = clientOf(opts);
        const rows: TenantView[] = [];
        const unavailable = new Set<string>();
        let cursor = opts.cursor ?? null;
        let next: string | null = null;
        do {
          const qs = new URLSearchParams({ limit: String(opts.limit) });
          if (cursor !== null) qs.set('cursor', cursor);
          const page = await client.call<{ tenants: TenantView[]; nextCursor: string | null; unavailableShards?: { shard: string }[] }>('GET', `/v1/tenants?${qs}`);
          rows.push(...page.tenants);
          for (const u of page.unavailableShards ?? []) unavailable.add(u.shard);
          next = page.nextCursor;
          cursor = next;
        } while (opts.all === true && next !== null);
        const value = { tenants: rows, nextCursor: next, ...(unavailable.size > 0 ? { unavailableShards: [...unavailable] } : {}) };
        print(opts, value, () => {
          const lines = [table(['id', 'shard', 'state', 'name', 'created'], rows.map((t) => [t.id, t.shard ?? '', t.disabled === true ? 'disabled' : (t.state ?? ''), t.displayName ?? '', t.createdAt ?? '']))];
          if (next !== null) lines.push(`more: openclawmu tenants list --cursor ${next}  (or --all)`);
          if (unavailable.size > 0) lines.push(`warning: shards not answering, their tenants are missing: ${[...unavailable].join(', ')}`);
          return lines.join('\n');
        });
        // Like `fleet status`: the answer is incomplete, so scripts must not take it as the whole list.
        if (unavailable.size > 0) process.exitCode = 3;
      } catch (err) {
        exitWithError(err, opts.json === true);
      }
    });

  withClientOptions(tenants.command('info <id>').description('Show one tenant')).action(async (id: string, opts: GlobalOpts) => {
    try {
      const t = await clientOf(opts).call<TenantView>('GET', `/v1/tenants/${encodeURIComponent(id)}`);
      print(opts, t, () => detail(t));
    } catch (err) {
      exitWithError(err, opts.json === true);
    }
  });

  withClientOptions(tenants.command('update <id>').description('Change display name, disable/enable, quotas'))
    .option('--display-name <name>', 'a human name')
    .option('--disable', 'refuse the tenant token until enabled again')
    .option('--enable', 'accept the tenant token again')
    .option('--quota <name=value>', 'set a limit, or name=null to clear it (repeatable)', collect, [])
    .action(async (id: string, opts: GlobalOpts & { displayName?: string; disable?: boolean; enable?: boolean; quota: string[] }) => {
      try {
        if (opts.disable === true && opts.enable === true) throw new AppError('VALIDATION_FAILED', { message: '--disable and --enable together' });
        const quota = parseQuota(opts.quota, true);
        const body: Record<string, unknown> = {};
        if (opts.displayName !== undefined) body['displayName'] = opts.displayName;
        if (opts.disable === true) body['disabled'] = true;
        if (opts.enable === true) body['disabled'] = false;
        if (quota !== undefined) body['quota'] = quota;
        if (Object.keys(body).length === 0) throw new AppError('VALIDATION_FAILED', { message: 'nothing to change: give --display-name, --disable, --enable or --quota' });
        const t = await clientOf(opts).call<TenantView>('PATCH', `/v1/tenants/${encodeURIComponent(id)}`, body);
        print(opts, t, () => `updated ${t.id}\n${detail(t)}`);
      } catch (err) {
        exitWithError(err, opts.json === true);
      }
    });

  withClientOptions(tenants.command('rotate <id>').description('Issue a new token; the old one stops now or after --grace'))
    .option('--grace <seconds>', 'keep the old token working this long (audited)', (v) => Number.parseInt(v, 10))
    .action(async (id: string, opts: GlobalOpts & { grace?: number }) => {
      try {
        const r = await clientOf(opts).call<{ id: string; token: string; graceUntil: string | null }>('POST', `/v1/tenants/${encodeURIComponent(id)}/token`, opts.grace === undefined ? {} : { graceSeconds: opts.grace });
        print(opts, r, () => `new token for ${r.id} (shown once): ${r.token}\nold token ${r.graceUntil === null ? 'stopped working now' : `works until ${r.graceUntil}`}`);
      } catch (err) {
        exitWithError(err, opts.json === true);
      }
    });

  withClientOptions(tenants.command('delete <id>').description('Delete a tenant and its data (needs --yes)'))
    .option('--yes', 'confirm: this destroys the tenant directory')
    .action(async (id: string, opts: GlobalOpts & { yes?: boolean }) => {
      try {
        if (opts.yes !== true) throw new AppError('CONFIRM_REQUIRED', { message: `deleting ${id} destroys its data; run again with --yes` });
        const r = await clientOf(opts).call<Record<string, unknown>>('DELETE', `/v1/tenants/${encodeURIComponent(id)}?confirm=true`);
        print(opts, r ?? { id, deleted: true }, () => `deleted ${id}`);
      } catch (err) {
        exitWithError(err, opts.json === true);
      }
    });
}
