// WebSocket upgrade pass-through: resolve the tenant, send the upgrade to the owner shard, absorb
// 421 (refresh + retry at the owner) and 503-frozen (hold + retry) like the HTTP path, then pipe raw bytes.
import type { IncomingMessage } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { Duplex } from 'node:stream';
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import type pino from 'pino';
import { AppError, errorBody, toAppError } from '../errors/app-error.ts';
import { shardById, type Manifest, type ManifestShard } from '../manifest/manifest-schema.ts';
import type { ManifestView } from '../manifest/manifest-poller.ts';
import type { Placement } from '../placement/rendezvous.ts';
import type { RouterObserver } from '../core/forward-to-owner.ts';
import { throttleSubject, type AuthThrottle, type ThrottleSubject } from '../core/auth-throttle.ts';
import { clientAddressOf, type TrustedProxies } from '../core/client-address.ts';
import { requestIdOf } from '../core/request-id.ts';
import { tenantFromHead } from '../core/request-tenant.ts';
import { presentedCredential } from '../identity/credential.ts';
import { parseTenantToken } from '../identity/tenant-id.ts';

export interface WsPassthroughDeps {
  readonly manifest: ManifestView;
  readonly placement: Placement;
  readonly log: pino.Logger;
  readonly connectTimeoutMs: number;
  readonly upgradeTimeoutMs: number; // from connected to the shard's response head
  readonly trustedProxies: TrustedProxies; // the core's: whose X-Forwarded-For is believed
  readonly throttle: AuthThrottle; // the core's: upgrades are refused and counted like requests
  readonly maxHops: number; // 421s followed before ROUTER_TOO_MANY_HOPS
  readonly holdLimitMs: number; // how long a frozen tenant's upgrade is held before ROUTER_HOLD_EXPIRED
  readonly holdPollMs: number; // first retry delay while frozen; doubles up to 1 s
  readonly now?: () => number;
  readonly observer?: Pick<RouterObserver, 'retry' | 'hold' | 'authThrottled'>;
  readonly onOutcome?: (o: 'piped' | 'refused' | 'failed') => void;
}

const UPGRADE_PATHS = /^\/(ws|terminal)(\/|$)/;
const DROP = new Set(['x-forwarded-for', 'x-request-id', 'x-forwarded-proto', 'x-forwarded-host']);
/** A shard's answer to an upgrade is a short head; anything longer is not a shard talking. */
const MAX_RESPONSE_HEAD_BYTES = 16 * 1024;
const MAX_POLL_MS = 1000;

/** One upgrade being routed; `gone` aborts when the client leaves before the pipe is set up. */
interface UpgradeCall {
  readonly deps: WsPassthroughDeps;
  readonly req: IncomingMessage;
  readonly head: Buffer;
  readonly tenantId: string;
  readonly requestId: string;
  readonly gone: AbortSignal;
  /** The X-Forwarded-For sent to the shard. */
  readonly forwardedFor: string;
}

/** A shard's answer to the upgrade, read up to the end of its head; `upstream` is paused there. */
interface Answer {
  readonly upstream: Socket;
  readonly status: number; // 0 when the status line is not HTTP/1.x: passed through untouched
  readonly headers: ReadonlyMap<string, string>;
  readonly bytes: Buffer; // everything read so far: the head and any bytes the shard sent after it
}

type Retries = { hops: number; holdUntil: number | null; pollMs: number };

export function handleUpgrade(deps: WsPassthroughDeps, req: IncomingMessage, client: Duplex, head: Buffer): void {
  const incomingId = req.headers['x-request-id'];
  const requestId = requestIdOf(typeof incomingId === 'string' ? incomingId : null);
  client.on('error', () => client.destroy());
  const header = (n: string): string | null => {
    const v = req.headers[n];
    return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
  };
  const address = clientAddressOf(req.socket.remoteAddress ?? 'unknown', header('x-forwarded-for'), deps.trustedProxies);
  // The same throttle decision as HTTP requests (auth-throttle.ts), on the credential the shard will check.
  const subject = throttleSubject({ method: req.method ?? 'GET', pathname: pathnameOf(req) ?? '/', client: address.client, credential: upgradeCredential(header) });
  const wait = subject === null ? 0 : deps.throttle.blockedFor(subject);
  if (wait > 0) {
    deps.observer?.authThrottled?.();
    deps.onOutcome?.('refused');
    return refuse(client, new AppError('AUTH_TOO_MANY_FAILURES', { headers: { 'retry-after': String(wait) } }), requestId);
  }
  const first = firstOwner(deps, req, header);
  if (first instanceof AppError) {
    deps.onOutcome?.('refused');
    return refuse(client, first, requestId);
  }
  // The upgraded socket is not read until piped, but 'end' and 'close' still tell us the client left.
  const leaving = new AbortController();
  const leave = (): void => leaving.abort();
  client.once('end', leave).once('close', leave);
  const call: UpgradeCall = { deps, req, head, tenantId: first.tenantId, requestId, gone: leaving.signal, forwardedFor: address.forwardedFor };
  void settle(call, first.shard).then((answer) => {
    client.off('end', leave).off('close', leave);
    if (!(answer instanceof AppError)) countAnswer(deps.throttle, subject, answer);
    if (leaving.signal.aborted) {
      if (!(answer instanceof AppError)) answer.upstream.destroy();
      client.destroy();
    } else if (answer instanceof AppError) {
      deps.onOutcome?.(answer.code.startsWith('ROUTER_UPSTREAM_') ? 'failed' : 'refused');
      refuse(client, answer, requestId);
    } else {
      pipe(client, answer);
      deps.onOutcome?.('piped');
    }
  });
}

/** What the shard's answer to an upgrade tells the throttle: 401 is a failed credential, anything else of the shard's a good one. */
function countAnswer(throttle: AuthThrottle, subject: ThrottleSubject | null, answer: Answer): void {
  if (subject === null || answer.status === 0 || answer.headers.get('x-openclawmu-error-source') === 'router') return;
  if (answer.status === 401) throttle.recordFailure(subject);
  else throttle.recordSuccess(subject);
}

/** The credential an upgrade presents: Authorization, x-api-key, else a tk_ entry of Sec-WebSocket-Protocol. */
function upgradeCredential(header: (n: string) => string | null): string | null {
  const direct = presentedCredential(header('authorization'), header('x-api-key'));
  if (direct !== null) return direct;
  for (const p of (header('sec-websocket-protocol') ?? '').split(',')) {
    if (parseTenantToken(p.trim()) !== null) return p.trim();
  }
  return null;
}

function pathnameOf(req: IncomingMessage): string | null {
  try {
    return new URL(req.url ?? '/', 'http://router').pathname;
  } catch {
    return null;
  }
}

function firstOwner(deps: WsPassthroughDeps, req: IncomingMessage, header: (n: string) => string | null): AppError | { tenantId: string; shard: ManifestShard } {
  const pathname = pathnameOf(req);
  if (pathname === null) return new AppError('BAD_REQUEST');
  if (!UPGRADE_PATHS.test(pathname)) return new AppError('NOT_FOUND');
  const tenant = tenantFromHead({ method: req.method ?? 'GET', pathname, header });
  if (tenant === null) return new AppError('ROUTER_NO_TENANT');
  const manifest = deps.manifest.current();
  if (manifest === null) return new AppError('ROUTER_MANIFEST_UNAVAILABLE');
  const shard = ownerShard(deps, manifest, tenant.tenantId);
  if (shard === undefined) return new AppError('ROUTER_NO_OWNER');
  return { tenantId: tenant.tenantId, shard };
}

/** Sends the upgrade until a shard answers with anything but 421 or 503-frozen (DESIGN §5). Never throws. */
async function settle(call: UpgradeCall, firstShard: ManifestShard): Promise<Answer | AppError> {
  const retries: Retries = { hops: 0, holdUntil: null, pollMs: call.deps.holdPollMs };
  let shard = firstShard;
  try {
    for (;;) {
      const answer = await attempt(call, shard);
      const frozen = answer.status === 503 && answer.headers.get('x-openclawmu-frozen') === '1';
      if (answer.status !== 421 && !frozen) {
        if (retries.holdUntil !== null) call.deps.observer?.hold?.('released');
        return answer;
      }
      answer.upstream.destroy();
      const next = frozen ? await afterFrozen(call, retries, shard) : await afterMisdirected(call, retries, answer.headers.get('x-openclawmu-owner'));
      if (next instanceof AppError) return next;
      shard = next;
    }
  } catch (err) {
    // Once the client has left, whatever failed is moot: the caller only cleans up.
    const e = toAppError(err);
    if (!call.gone.aborted) call.deps.log.warn({ shardId: shard.id, reqId: call.requestId, err: { message: e.message, code: e.code } }, 'ws upstream failed');
    return e;
  }
}

/** 421: the manifest is stale. Refresh it and go to the shard's hint if the manifest knows it, else placement. */
async function afterMisdirected(call: UpgradeCall, retries: Retries, hinted: string | undefined): Promise<ManifestShard | AppError> {
  const { deps } = call;
  deps.observer?.retry?.('misdirected');
  retries.hops += 1;
  if (retries.hops > deps.maxHops) return new AppError('ROUTER_TOO_MANY_HOPS', { details: { hops: deps.maxHops } });
  const manifest = (await deps.manifest.refresh()) ?? deps.manifest.current();
  const next = manifest === null ? undefined : ((hinted === undefined ? undefined : shardById(manifest, hinted)) ?? ownerShard(deps, manifest, call.tenantId));
  return next ?? new AppError('ROUTER_NO_OWNER', { details: { tenant: call.tenantId } });
}

/** 503-frozen: a move is under way. Wait (backing off) and follow the owner if the move committed meanwhile. */
async function afterFrozen(call: UpgradeCall, retries: Retries, shard: ManifestShard): Promise<ManifestShard | AppError> {
  const { deps } = call;
  const t = (deps.now ?? Date.now)();
  if (retries.holdUntil === null) {
    retries.holdUntil = t + deps.holdLimitMs;
    deps.observer?.retry?.('frozen');
  }
  if (t >= retries.holdUntil) {
    deps.observer?.hold?.('expired');
    return new AppError('ROUTER_HOLD_EXPIRED', { headers: { 'retry-after': '1' }, details: { holdMs: deps.holdLimitMs } });
  }
  await delay(Math.min(retries.pollMs, retries.holdUntil - t), undefined, { signal: call.gone });
  retries.pollMs = Math.min(retries.pollMs * 2, MAX_POLL_MS);
  const manifest = deps.manifest.current();
  return (manifest === null ? undefined : ownerShard(deps, manifest, call.tenantId)) ?? shard;
}

function ownerShard(deps: WsPassthroughDeps, manifest: Manifest, tenantId: string): ManifestShard | undefined {
  const id = deps.placement.ownerOf(tenantId, manifest);
  return id === null ? undefined : shardById(manifest, id);
}

/** Connects, sends the upgrade request, and reads the shard's response head. Throws AppError. */
async function attempt(call: UpgradeCall, shard: ManifestShard): Promise<Answer> {
  call.gone.throwIfAborted();
  const target = new URL(shard.url);
  const tls = target.protocol === 'https:';
  const port = Number(target.port || (tls ? 443 : 80));
  const upstream: Socket = tls ? tlsConnect({ host: target.hostname, port, servername: target.hostname }) : netConnect({ host: target.hostname, port });
  upstream.setNoDelay(true);
  // Each wait below handles errors itself; this listener covers the gaps between them.
  upstream.on('error', () => upstream.destroy());
  const onGone = (): void => void upstream.destroy();
  call.gone.addEventListener('abort', onGone, { once: true });
  const connectBy = AbortSignal.timeout(call.deps.connectTimeoutMs);
  try {
    await once(upstream, tls ? 'secureConnect' : 'connect', { signal: AbortSignal.any([call.gone, connectBy]) });
    upstream.write(requestHead(call, target.host));
    if (call.head.length > 0) upstream.write(call.head);
    // A shard that accepts the connection but never answers must not hold the client forever.
    const answerBy = setTimeout(() => upstream.destroy(new AppError('ROUTER_UPSTREAM_TIMEOUT', { details: { shard: shard.id, waitedMs: call.deps.upgradeTimeoutMs } })), call.deps.upgradeTimeoutMs);
    try {
      return { upstream, ...(await readResponseHead(upstream, shard.id)) };
    } finally {
      clearTimeout(answerBy);
    }
  } catch (err) {
    upstream.destroy();
    if (err instanceof AppError) throw err;
    throw new AppError(connectBy.aborted ? 'ROUTER_UPSTREAM_TIMEOUT' : 'ROUTER_UPSTREAM_DOWN', { details: { shard: shard.id }, cause: err });
  } finally {
    call.gone.removeEventListener('abort', onGone);
  }
}

function requestHead(call: UpgradeCall, host: string): string {
  const { req } = call;
  const lines = [`${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1`];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] as string;
    const lower = name.toLowerCase();
    if (DROP.has(lower)) continue;
    lines.push(`${name}: ${lower === 'host' ? host : (req.rawHeaders[i + 1] as string)}`);
  }
  lines.push(`x-forwarded-for: ${call.forwardedFor}`);
  lines.push(`x-request-id: ${call.requestId}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** Reads up to the end of the response head and leaves the socket paused, so no later byte is lost. */
function readResponseHead(upstream: Socket, shardId: string): Promise<Omit<Answer, 'upstream'>> {
  return new Promise((resolve, reject) => {
    let bytes: Buffer = Buffer.alloc(0);
    const done = (): void => void upstream.off('data', onData).off('error', fail).off('end', ended).off('close', ended);
    const fail = (err: Error): void => {
      done();
      reject(err instanceof AppError ? err : new AppError('ROUTER_UPSTREAM_DOWN', { details: { shard: shardId }, cause: err }));
    };
    const ended = (): void => fail(new Error('closed before a response head'));
    const onData = (chunk: Buffer): void => {
      bytes = bytes.length === 0 ? chunk : Buffer.concat([bytes, chunk]);
      const end = bytes.indexOf('\r\n\r\n');
      if (end === -1 && bytes.length <= MAX_RESPONSE_HEAD_BYTES) return;
      if (end === -1 || end > MAX_RESPONSE_HEAD_BYTES) return fail(new Error(`response head over ${MAX_RESPONSE_HEAD_BYTES} bytes`));
      upstream.pause();
      done();
      resolve(parseResponseHead(bytes, end));
    };
    upstream.on('data', onData).once('error', fail).once('end', ended).once('close', ended);
  });
}

function parseResponseHead(bytes: Buffer, end: number): Omit<Answer, 'upstream'> {
  const [statusLine = '', ...lines] = bytes.subarray(0, end).toString('latin1').split('\r\n');
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const m = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(statusLine);
  return { status: m === null ? 0 : Number(m[1]), headers, bytes };
}

/** The shard's head and whatever followed it go out first, then raw bytes both ways. */
function pipe(client: Duplex, { upstream, bytes }: Answer): void {
  upstream.on('close', () => client.destroy());
  client.on('close', () => upstream.destroy());
  client.write(bytes);
  upstream.pipe(client);
  client.pipe(upstream);
}

function refuse(socket: Duplex, err: AppError, requestId: string): void {
  const body = JSON.stringify(errorBody(err));
  const extra = Object.entries(err.headers ?? {}).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  const head = `HTTP/1.1 ${err.status} ${err.code}\r\nconnection: close\r\ncontent-type: application/json\r\nx-request-id: ${requestId}\r\nx-openclawmu-error-source: router\r\n${extra}`;
  socket.end(`${head}content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}
