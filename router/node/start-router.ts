// Starts a router on Node: manifest poller, undici forwarder, metrics, the core behind an http server (port 0 works).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import pino from 'pino';
import { createRouterCore, DEFAULT_LIMITS } from '../core/router-core.ts';
import { createManifestPoller, type ManifestPoller } from '../manifest/manifest-poller.ts';
import { openManifestSource } from '../manifest/open-manifest-source.ts';
import type { ManifestSource } from '../manifest/manifest-source.ts';
import { initPlacement } from '../placement/rendezvous.ts';
import type { ErrorCode } from '../errors/codes.ts';
import { createFastPath } from './fast-forward.ts';
import { createNodeHandler } from './node-handler.ts';
import type { RouterConfig } from './router-config.ts';
import { createRouterMetrics, type RouterMetrics } from './router-metrics.ts';
import { createUndiciForwarder } from './undici-forwarder.ts';
import { startShardProber } from './shard-prober.ts';
import { createShardReachability } from '../core/shard-reachability.ts';
import { AppError } from '../errors/app-error.ts';
import { handleUpgrade } from './ws-passthrough.ts';

export interface RunningRouter {
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  readonly poller: ManifestPoller;
  readonly metrics: RouterMetrics;
  close(): Promise<void>;
}

export interface StartRouterOptions {
  readonly log?: pino.Logger;
  /** Overrides the source named by config.manifest (tests). */
  readonly source?: ManifestSource;
  readonly now?: () => number;
}

const REDACT = ['req.headers.authorization', 'req.headers["sec-websocket-protocol"]', 'req.headers["x-api-key"]', 'headers.authorization', 'authorization', 'token', '*.token', 'adminKey'];

export function createRouterLogger(level: string, destination?: pino.DestinationStream): pino.Logger {
  const opts: pino.LoggerOptions = { level, base: { component: 'router' }, redact: { paths: REDACT, censor: '[redacted]' }, timestamp: pino.stdTimeFunctions.isoTime };
  return destination === undefined ? pino(opts) : pino(opts, destination);
}

export async function startRouter(config: RouterConfig, opts: StartRouterOptions = {}): Promise<RunningRouter> {
  const log = opts.log ?? createRouterLogger(config.logLevel);
  const now = opts.now ?? Date.now;
  const placement = await initPlacement();
  const forwarder = createUndiciForwarder({
    connections: config.limits.connectionsPerShard,
    connectTimeoutMs: config.limits.connectTimeoutMs,
    headersTimeoutMs: config.limits.headersTimeoutMs,
    bodyTimeoutMs: config.limits.bodyTimeoutMs,
  });
  const source = opts.source ?? openManifestSource(config.manifest);
  const poller: ManifestPoller = createManifestPoller({
    source,
    intervalMs: config.pollIntervalMs,
    now,
    onEvent: (e) => {
      switch (e.kind) {
        case 'loaded':
          log.info({ version: e.version, previous: e.previous }, 'manifest loaded');
          forwarder.retain(poller.current()?.shards.map((s) => s.url) ?? []);
          return;
        case 'invalid':
        case 'unreachable':
          log.warn({ code: e.code, message: e.message, keptVersion: e.keptVersion, source: source.url }, `manifest ${e.kind}; keeping the last good copy`);
          return;
        case 'regressed':
          log.warn({ version: e.version, keptVersion: e.keptVersion, source: source.url }, 'manifest version went back; keeping the newer copy');
          return;
      }
    },
  });
  const metrics = createRouterMetrics(() => poller.status(), now);
  const observer = {
    ...metrics.observer,
    upstreamError: (shard: string, code: ErrorCode) => {
      metrics.observer.upstreamError?.(shard, code);
      log.warn({ shardId: shard, code }, 'upstream failed');
    },
  };
  const reachability = createShardReachability({ failures: config.healthProbe.failures });
  reachability.onDown((shardUrl) => {
    const shard = poller.current()?.shards.find((s) => s.url === shardUrl);
    log.warn({ shardId: shard?.id, url: shardUrl }, 'shard unreachable (health probes failing): its tenants get 503 until it answers again');
    forwarder.reset(shardUrl, new AppError('ROUTER_SHARD_UNREACHABLE', { headers: { 'retry-after': '1' }, details: { shard: shard?.id ?? shardUrl } }));
  });
  const core = createRouterCore({
    manifest: poller,
    reachability,
    manifestStatus: () => poller.status(),
    placement,
    forward: forwarder.forward,
    adminKeyHashes: config.adminKeyHashes,
    observer,
    limits: {
      maxBodyBytes: config.limits.maxBodyBytes,
      replayBodyBytes: config.limits.replayBodyBytes,
      maxHops: config.limits.maxHops,
      holdLimitMs: config.limits.holdLimitMs,
      fanoutTimeoutMs: config.limits.fanoutTimeoutMs,
    },
    authThrottle: config.authThrottle,
    trustedProxies: config.trustedProxies,
    trustForwardedFor: config.trustForwardedFor,
    cors: config.cors,
    now,
  });
  await poller.start();
  const prober = config.healthProbe.intervalMs > 0 ? startShardProber({ manifest: poller, reachability, intervalMs: config.healthProbe.intervalMs, timeoutMs: config.healthProbe.timeoutMs }) : undefined;
  if (poller.current() === null) log.warn({ source: source.url, error: poller.status().lastError }, 'no valid manifest yet; not ready until one appears');

  const fast = config.fastPath
    ? createFastPath({
        manifest: poller,
        placement,
        dispatcherFor: forwarder.dispatcherFor,
        reachability,
        throttle: core.throttle,
        observer,
        recordRequest: metrics.request,
        bufferBodyBytes: Math.min(config.limits.replayBodyBytes, config.limits.maxBodyBytes),
        trustedProxies: core.trustedProxies,
        corsEnabled: core.cors.enabled,
        log,
      })
    : undefined;
  const handler = createNodeHandler({ fetch: core.fetch, metrics, log, bufferBodyBytes: config.limits.replayBodyBytes, ...(fast === undefined ? {} : { fast }) });
  const server = createServer({ requestTimeout: config.limits.requestTimeoutMs, keepAliveTimeout: 5_000, noDelay: true }, handler);
  // Upgraded sockets leave the http server's bookkeeping: track them so close() can end them.
  const upgraded = new Set<Duplex>();
  server.on('upgrade', (req, socket, head) => {
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
    handleUpgrade(
      {
        manifest: poller,
        placement,
        log,
        connectTimeoutMs: config.limits.connectTimeoutMs,
        upgradeTimeoutMs: config.limits.upgradeTimeoutMs,
        trustedProxies: core.trustedProxies,
        throttle: core.throttle,
        maxHops: config.limits.maxHops,
        holdLimitMs: config.limits.holdLimitMs,
        holdPollMs: DEFAULT_LIMITS.holdPollMs,
        now,
        observer: metrics.observer,
        onOutcome: (o) => metrics.wsUpgrade(o),
      },
      req,
      socket,
      head,
    );
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });
  try {
    await new Promise<void>((ok, fail) => {
      server.once('error', fail);
      server.listen(config.port, config.host, () => {
        server.off('error', fail);
        ok();
      });
    });
  } catch (err) {
    await prober?.close();
    await poller.close();
    await forwarder.close();
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    server,
    poller,
    metrics,
    close() {
      closing ??= (async () => {
        const drained = new Promise<void>((ok) => server.close(() => ok()));
        server.closeIdleConnections();
        for (const s of upgraded) s.destroy();
        const deadline = setTimeout(() => server.closeAllConnections(), config.limits.drainTimeoutMs);
        await drained;
        clearTimeout(deadline);
        await prober?.close();
        await poller.close();
        await forwarder.close();
      })();
      return closing;
    },
  };
}
