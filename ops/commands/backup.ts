// `openclawmu tenants backup|backups|backup-delete|restore`: snapshots through the control plane, with progress.
import type { Command } from 'commander';
import { AppError } from '../../router/errors/app-error.ts';
import { openBlobStore } from '../../router/index.ts';
import { listSnapshots } from '../../shard/snapshot/snapshot-list.ts';
import { ERROR_CODES, type ErrorCode } from '../../router/errors/codes.ts';
import { ControlClient, resolveClientTarget, withClientOptions, type ClientOptions } from '../client/control-client.ts';
import { exitWithError, formatBytes, printResult as print, table } from '../output.ts';

interface Opts extends ClientOptions {
  json?: boolean;
}

interface ProgressLine {
  event: 'progress' | 'done' | 'error';
  phase?: string;
  bytes?: number;
  total?: number;
  result?: unknown;
  error?: { code?: string; message?: string; details?: Record<string, unknown> };
}

function toAppError(e: ProgressLine['error'], status: number): AppError {
  const code = e?.code !== undefined && Object.hasOwn(ERROR_CODES, e.code) ? (e.code as ErrorCode) : 'INTERNAL';
  return new AppError(code, { message: e?.message ?? `HTTP ${status}`, ...(e?.details === undefined ? {} : { details: e.details }) });
}

/** Renders progress on stderr: one rewritten line on a terminal, one line per phase otherwise. */
function progressPrinter(): { show(p: ProgressLine): void; done(): void } {
  const tty = process.stderr.isTTY === true;
  let lastPhase = '';
  return {
    show(p) {
      const what = `${p.phase ?? ''} ${formatBytes(p.bytes ?? 0)}${p.total !== undefined && p.total > 0 ? ` / ${formatBytes(p.total)}` : ''}`;
      if (tty) process.stderr.write(`\r\x1b[K${what}`);
      else if (p.phase !== lastPhase) process.stderr.write(`${p.phase ?? ''}...\n`);
      lastPhase = p.phase ?? '';
    },
    done() {
      if (tty && lastPhase !== '') process.stderr.write('\r\x1b[K');
    },
  };
}

/** POSTs with `Accept: application/x-ndjson` and follows the progress lines to the final result. */
async function postWithProgress<T>(opts: Opts, path: string, body: unknown): Promise<T> {
  const { url, adminKey } = resolveClientTarget(opts, process.env);
  let res: Response;
  try {
    res = await fetch(url + path, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}`, accept: 'application/x-ndjson', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (err) {
    throw new AppError('ROUTER_UNREACHABLE', { message: `cannot reach ${url}; is the fleet running? (openclawmu dev)`, cause: err });
  }
  if (!res.ok || !/ndjson/.test(res.headers.get('content-type') ?? '')) {
    const text = await res.text();
    let parsed: { error?: ProgressLine['error'] } | null = null;
    try {
      parsed = JSON.parse(text) as { error?: ProgressLine['error'] };
    } catch {
      /* reported with the status */
    }
    if (!res.ok) throw toAppError(parsed?.error ?? { message: `HTTP ${res.status} ${text.slice(0, 200)}` }, res.status);
    return parsed as T;
  }
  const printer = progressPrinter();
  const decoder = new TextDecoder();
  let buffered = '';
  let final: ProgressLine | undefined;
  for await (const chunk of res.body ?? []) {
    buffered += decoder.decode(chunk as Uint8Array, { stream: true });
    let nl: number;
    while ((nl = buffered.indexOf('\n')) !== -1) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.trim() === '') continue;
      const msg = JSON.parse(line) as ProgressLine;
      if (msg.event === 'progress') printer.show(msg);
      else final = msg;
    }
  }
  printer.done();
  if (final === undefined) throw new AppError('ROUTER_UPSTREAM_DOWN', { message: 'The connection ended before the operation reported its result.' });
  if (final.event === 'error') throw toAppError(final.error, 500);
  return final.result as T;
}

interface BackupResult {
  id: string;
  key: string;
  bytes: number;
  sha256: string;
  files: number;
}

interface RestoreResult {
  id: string;
  token?: string;
  restoredFrom: string;
  replaced: boolean;
}

/** Adds the snapshot subcommands to the `tenants` command family (created by registerTenantsCommands). */
export function registerTenantsSnapshotCommands(program: Command): void {
  const tenants = program.commands.find((c) => c.name() === 'tenants') ?? program.command('tenants').description('Manage tenants through the router (admin key)');

  withClientOptions(tenants.command('backup <id>').description('Snapshot a tenant into the fleet blob store'))
    .action(async (id: string, opts: Opts) => {
      try {
        const r = await postWithProgress<BackupResult>(opts, `/v1/tenants/${encodeURIComponent(id)}/backups`, undefined);
        print(opts, r, () => `backup of ${id}: ${r.key}\n${formatBytes(r.bytes)}, ${r.files} files, sha256 ${r.sha256}`);
      } catch (err) {
        exitWithError(err, opts.json === true);
      }
    });

  withClientOptions(tenants.command('backups <id>').description("List a tenant's snapshots, oldest first"))
    .option('--blob <url>', 'read the fleet blob store directly instead of asking the router (env OPENCLAWMU_BLOB)')
    .action(async (id: string, opts: Opts & { blob?: string }) => {
      try {
        const blobUrl = opts.blob ?? process.env['OPENCLAWMU_BLOB'];
        let r: { backups: { id: string; key: string; bytes: number; createdAt: string }[] };
        if (blobUrl !== undefined) {
          // No fleet needed: snapshots outlive tenants and shards.
          const store = openBlobStore(blobUrl);
          try {
            r = { backups: await listSnapshots(store, id) };
          } finally {
            await store.close();
          }
        } else {
          const { url, adminKey } = resolveClientTarget(opts, process.env);
          r = await new ControlClient(url, adminKey).call('GET', `/v1/tenants/${encodeURIComponent(id)}/backups`);
        }
        print(opts, r, () => table(['created', 'size', 'key'], r.backups.map((b) => [b.createdAt, formatBytes(b.bytes), b.key])));
      } catch (err) {
        exitWithError(err, opts.json === true);
      }
    });

  withClientOptions(tenants.command('backup-delete <id> <snapshot>').description('Delete one snapshot (its id or key)'))
    .action(async (id: string, snapshot: string, opts: Opts) => {
      try {
        const { url, adminKey } = resolveClientTarget(opts, process.env);
        const r = await new ControlClient(url, adminKey).call<{ key: string }>('DELETE', `/v1/tenants/${encodeURIComponent(id)}/backups/${encodeURIComponent(snapshot)}`);
        print(opts, r, () => `deleted ${r.key}`);
      } catch (err) {
        exitWithError(err, opts.json === true);
      }
    });

  withClientOptions(tenants.command('restore').description('Restore a tenant from a snapshot (verified before anything is replaced)'))
    .requiredOption('--from <key>', 'snapshot key (tenants/<id>/snapshots/<snap>.tar.zst) or <id>/<snap>')
    .option('--as <newId>', 'restore under a new tenant id (mints a new token)')
    .option('--force', 'replace an existing tenant with the same id')
    .action(async (opts: Opts & { from: string; as?: string; force?: boolean }) => {
      try {
        const body = { from: opts.from, ...(opts.as === undefined ? {} : { as: opts.as }), ...(opts.force === true ? { force: true } : {}) };
        const r = await postWithProgress<RestoreResult>(opts, '/v1/tenants/restore', body);
        print(opts, r, () =>
          [`restored tenant ${r.id} from ${r.restoredFrom}${r.replaced ? ' (replaced the existing one)' : ''}`, ...(r.token === undefined ? [] : [`token (shown once, keep it): ${r.token}`])].join('\n'),
        );
      } catch (err) {
        exitWithError(err, opts.json === true);
      }
    });
}
