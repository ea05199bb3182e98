// WebSocket upgrade pass-through: resolve the tenant from the upgrade request, connect to the owner
// shard, replay the request head, then pipe raw bytes both ways (the shard speaks the WS protocol).
import type { IncomingMessage } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { Duplex } from 'node:stream';
import { randomUUID } from 'node:crypto';
import type pino from 'pino';
import { AppError } from '../errors/app-error.ts';
import type { ErrorCode } from '../errors/codes.ts';
import { shardById } from '../manifest/manifest-schema.ts';
import type { ManifestView } from '../manifest/manifest-poller.ts';
import type { Placement } from '../placement/rendezvous.ts';
import { tenantFromHead } from '../core/request-tenant.ts';

export interface WsPassthroughDeps {
  readonly manifest: ManifestView;
  readonly placement: Placement;
  readonly log: pino.Logger;
  readonly connectTimeoutMs: number;
  readonly trustForwardedFor: boolean;
  readonly onOutcome?: (o: 'piped' | 'refused' | 'failed') => void;
}

const UPGRADE_PATHS = /^\/(ws|terminal)(\/|$)/;
const DROP = new Set(['x-forwarded-for', 'x-request-id', 'x-forwarded-proto', 'x-forwarded-host']);

function refuse(socket: Duplex, code: ErrorCode, requestId: string): void {
  const err = new AppError(code);
  const body = JSON.stringify({ error: err.toJSON() });
  socket.end(
    `HTTP/1.1 ${err.status} ${code}\r\nconnection: close\r\ncontent-type: application/json\r\nx-request-id: ${requestId}\r\nx-openclawmu-error-source: router\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

export function handleUpgrade(deps: WsPassthroughDeps, req: IncomingMessage, client: Duplex, head: Buffer): void {
  const incomingId = req.headers['x-request-id'];
  const requestId = typeof incomingId === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(incomingId) ? incomingId : randomUUID();
  const done = (o: 'piped' | 'refused' | 'failed'): void => deps.onOutcome?.(o);
  client.on('error', () => client.destroy());
  let pathname: string;
  try {
    pathname = new URL(req.url ?? '/', 'http://router').pathname;
  } catch {
    done('refused');
    return refuse(client, 'BAD_REQUEST', requestId);
  }
  if (!UPGRADE_PATHS.test(pathname)) {
    done('refused');
    return refuse(client, 'NOT_FOUND', requestId);
  }
  const tenant = tenantFromHead({
    method: req.method ?? 'GET',
    pathname,
    header: (n) => {
      const v = req.headers[n];
      return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
    },
  });
  if (tenant === null) {
    done('refused');
    return refuse(client, 'ROUTER_NO_TENANT', requestId);
  }
  const manifest = deps.manifest.current();
  if (manifest === null) {
    done('refused');
    return refuse(client, 'ROUTER_MANIFEST_UNAVAILABLE', requestId);
  }
  const ownerId = deps.placement.ownerOf(tenant.tenantId, manifest);
  const shard = ownerId === null ? undefined : shardById(manifest, ownerId);
  if (shard === undefined) {
    done('refused');
    return refuse(client, 'ROUTER_NO_OWNER', requestId);
  }
  const target = new URL(shard.url);
  const port = Number(target.port || (target.protocol === 'https:' ? 443 : 80));
  const upstream: Socket =
    target.protocol === 'https:' ? tlsConnect({ host: target.hostname, port, servername: target.hostname }) : netConnect({ host: target.hostname, port });
  upstream.setNoDelay(true);
  const connectTimer = setTimeout(() => upstream.destroy(new AppError('ROUTER_UPSTREAM_TIMEOUT')), deps.connectTimeoutMs);
  let piped = false;
  upstream.once(target.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
    clearTimeout(connectTimer);
    const lines = [`${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i] as string;
      const lower = name.toLowerCase();
      if (DROP.has(lower)) continue;
      lines.push(`${name}: ${lower === 'host' ? target.host : (req.rawHeaders[i + 1] as string)}`);
    }
    const addr = req.socket.remoteAddress ?? '';
    const prior = req.headers['x-forwarded-for'];
    lines.push(`x-forwarded-for: ${deps.trustForwardedFor && typeof prior === 'string' ? `${prior}, ${addr}` : addr}`);
    lines.push(`x-request-id: ${requestId}`);
    upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (head.length > 0) upstream.write(head);
    piped = true;
    // A 421 on the upgrade means our manifest is stale: the client sees it and reconnects; refresh now.
    upstream.once('data', (first: Buffer) => {
      if (first.subarray(0, 12).toString('latin1') === 'HTTP/1.1 421') void deps.manifest.refresh();
    });
    upstream.pipe(client);
    client.pipe(upstream);
    done('piped');
  });
  upstream.on('error', (err) => {
    clearTimeout(connectTimer);
    if (!piped) {
      deps.log.warn({ shardId: shard.id, reqId: requestId, err: { message: err.message, code: (err as NodeJS.ErrnoException).code } }, 'ws upstream connect failed');
      done('failed');
      refuse(client, err instanceof AppError ? err.code : 'ROUTER_UPSTREAM_DOWN', requestId);
    } else {
      client.destroy();
    }
  });
  upstream.on('close', () => client.destroy());
  client.on('close', () => upstream.destroy());
}
