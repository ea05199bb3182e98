// The CLI's client for the control plane behind a router: admin key, JSON in and out, errors with their code.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { join } from 'node:path';
import { AppError } from '../../router/errors/app-error.ts';
import { ERROR_CODES, type ErrorCode } from '../../router/errors/codes.ts';

export const DEFAULT_ROUTER_URL = 'http://127.0.0.1:18789';

/** What `openclawmu dev` keeps in `<data>/dev.json` (mode 0600) so later commands find the fleet. */
export interface DevState {
  adminKey: string;
  routerUrl?: string;
  shards?: number;
  port?: number;
  /** The dev fleet's channel seal key (base64), kept so sealed channel credentials reopen after a restart. */
  channelSealKey?: string;
}

export function readDevState(dataDir: string): DevState | null {
  try {
    const parsed = JSON.parse(readFileSync(join(dataDir, 'dev.json'), 'utf8')) as Partial<DevState>;
    return typeof parsed.adminKey === 'string' ? (parsed as DevState) : null;
  } catch {
    return null;
  }
}

export interface ClientOptions {
  url?: string;
  adminKey?: string;
  /** Where to look for dev.json when no key is given (default .openclawmu). */
  data?: string;
}

/** Flags → env → dev.json → defaults. Only entry points pass `env`. */
export function resolveClientTarget(opts: ClientOptions, env: NodeJS.ProcessEnv): { url: string; adminKey: string } {
  const dev = readDevState(opts.data ?? '.openclawmu');
  const url = (opts.url ?? env['OPENCLAWMU_URL'] ?? dev?.routerUrl ?? DEFAULT_ROUTER_URL).replace(/\/+$/, '');
  const adminKey = opts.adminKey ?? env['OPENCLAWMU_ADMIN_KEY'] ?? dev?.adminKey;
  if (adminKey === undefined) {
    throw new AppError('AUTH_REQUIRED', { message: 'No admin key: pass --admin-key, set OPENCLAWMU_ADMIN_KEY, or run `openclawmu dev` here first (it writes .openclawmu/dev.json).' });
  }
  return { url, adminKey };
}

export class ControlClient {
  readonly url: string;
  readonly #adminKey: string;
  readonly #timeoutMs: number;

  constructor(url: string, adminKey: string, timeoutMs = 30_000) {
    this.url = url;
    this.#adminKey = adminKey;
    this.#timeoutMs = timeoutMs;
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(this.url + path, {
        method,
        headers: { authorization: `Bearer ${this.#adminKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
      throw new AppError('ROUTER_UNREACHABLE', { message: `cannot reach ${this.url} (${cause}); is the fleet running? (openclawmu dev)`, cause: err });
    }
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      // not JSON: reported below with the status
    }
    if (!res.ok) {
      const e = (parsed as { error?: { code?: string; message?: string; details?: Record<string, unknown> } } | null)?.error;
      const code = e?.code !== undefined && Object.hasOwn(ERROR_CODES, e.code) ? (e.code as ErrorCode) : 'INTERNAL';
      throw new AppError(code, {
        message: e?.message ?? `HTTP ${res.status} ${text.slice(0, 200)}`,
        ...(e?.details === undefined ? {} : { details: e.details }),
      });
    }
    return parsed as T;
  }
}

/** The options every control-plane command takes: where the router is, the admin key, --json. */
export function withClientOptions(cmd: Command): Command {
  return cmd
    .option('--url <url>', 'router URL (env OPENCLAWMU_URL; default http://127.0.0.1:18789)')
    .option('--admin-key <ak_...>', 'admin key (env OPENCLAWMU_ADMIN_KEY; else .openclawmu/dev.json)')
    .option('--data <dir>', 'where `openclawmu dev` keeps dev.json', '.openclawmu')
    .option('--json', 'machine-readable output');
}
