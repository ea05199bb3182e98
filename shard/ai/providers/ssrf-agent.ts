// The SSRF guard at connect time: an undici Agent whose connector refuses disallowed addresses,
// checking IP literals directly and every DNS answer through its lookup (no rebinding window).
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import { Agent, buildConnector } from 'undici';
import { AppError } from '../../../router/errors/app-error.ts';
import { addressAllowed, classifyAddress } from './address-class.ts';

export interface GuardOptions {
  allowPrivateNetwork: boolean;
  connectTimeoutMs: number;
  /** Test seam: a resolver used instead of DNS. */
  lookup?: typeof dnsLookup;
}

function blocked(host: string, address: string): AppError {
  return new AppError('AI_SSRF_BLOCKED', { details: { host: host.slice(0, 200), addressClass: classifyAddress(address) } });
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A `lookup` for net.connect that resolves, then refuses when any answer is not allowed. */
export function guardedLookup(opts: GuardOptions) {
  const resolve = opts.lookup ?? dnsLookup;
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    resolve(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '');
      const list = addresses as unknown as LookupAddress[];
      const bad = list.find((a) => !addressAllowed(a.address, opts.allowPrivateNetwork));
      if (bad !== undefined) return callback(blocked(hostname, bad.address) as unknown as NodeJS.ErrnoException, '');
      if (list.length === 0) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '');
      if (options.all === true) return callback(null, list);
      const first = list[0] as LookupAddress;
      return callback(null, first.address, first.family);
    });
  };
}

/** An undici dispatcher that only ever connects to allowed addresses. */
export function createGuardedAgent(opts: GuardOptions): Agent {
  const base = buildConnector({ timeout: opts.connectTimeoutMs, lookup: guardedLookup(opts) } as buildConnector.BuildOptions);
  const connect: buildConnector.connector = (options, callback) => {
    const host = options.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) !== 0 && !addressAllowed(host, opts.allowPrivateNetwork)) {
      callback(blocked(host, host), null);
      return;
    }
    base(options, callback);
  };
  return new Agent({ connect, keepAliveTimeout: 10_000, connections: 256 });
}
