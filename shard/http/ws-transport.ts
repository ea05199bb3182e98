// GET /ws: the JSON-RPC methods over WebSocket, authenticated at the upgrade. One ownership check
// per message; freeze, move and delete close the tenant's sockets so clients reconnect elsewhere
// (a socket whose own message did it gets that message's reply first).
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { WebSocketServer, type WebSocket } from 'ws';
import { AppError, toAppError } from '../../router/errors/app-error.ts';
import { parseTenantToken } from '../../router/identity/tenant-id.ts';
import type { ShardServices } from '../app/shard-services.ts';
import { dispatchRpcFrame, rpcError } from '../rpc/rpc-dispatch.ts';
import { tenantAuthorizationOf } from '../auth/callers.ts';
import { authenticateTenant } from './tenant-request.ts';
import { refuseUpgrade, type UpgradeHandler } from './ws-upgrades.ts';

export const WS_SUBPROTOCOL = 'openclawmu.v1';

/** The bearer credential of an upgrade: the Authorization header or a tk_ entry of Sec-WebSocket-Protocol. */
export function upgradeCredential(req: IncomingMessage): string | undefined {
  const direct = tenantAuthorizationOf(req.headers);
  if (direct !== undefined) return direct;
  const protos = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim());
  const tok = protos.find((p) => parseTenantToken(p) !== null);
  return tok === undefined ? undefined : `Bearer ${tok}`;
}

/** A socket lives only as long as HTTP would still admit its token (rotation without grace, disabling end it). */
function credentialStillValid(svc: ShardServices, tenantId: string, keyId: string | undefined): boolean {
  const rec = svc.store.get(tenantId);
  if (rec === undefined) return svc.ownership.get(tenantId) !== undefined; // moved/frozen: the gate answers
  if (rec.disabled) return false; // HTTP answers 403 AUTH_TENANT_DISABLED; a socket must not outlive that
  if (rec.token.keyId === keyId) return true;
  const prev = rec.previousToken;
  return prev !== undefined && prev.keyId === keyId && Date.parse(prev.notAfter) > svc.now().getTime();
}

/** The handler of `GET /ws` upgrades (the shard's upgrade dispatcher calls it); closes its sockets on app close. */
export function wsRpcTransport(app: FastifyInstance, svc: ShardServices): UpgradeHandler {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: svc.config.limits.wsMaxPayloadBytes,
    handleProtocols: (protocols) => (protocols.has(WS_SUBPROTOCOL) ? WS_SUBPROTOCOL : false),
  });

  // preClose, not onClose: the HTTP server's close waits for upgraded sockets, so they go first.
  app.addHook('preClose', async () => {
    const closing: Array<Promise<void>> = [];
    for (const ws of svc.sockets.all() as WebSocket[]) {
      closing.push(new Promise<void>((resolve) => ws.once('close', () => resolve())));
      ws.close(1001, 'shard shutting down');
      setTimeout(() => ws.terminate(), 2000).unref();
    }
    await Promise.all(closing);
    wss.close();
  });

  return ({ req, socket, head }) => {
    let tenant;
    let release: () => void;
    try {
      ({ ctx: tenant, release } = authenticateTenant(svc, upgradeCredential(req), `ws-${Date.now().toString(36)}`));
    } catch (err) {
      refuseUpgrade(socket, toAppError(err));
      return;
    }
    release(); // the connection itself is not a request in flight; each message is
    const place = svc.sockets.tryReserve(tenant.id, svc.config.limits.wsPerTenant);
    if (place === null) {
      refuseUpgrade(socket, new AppError('SHARD_WS_LIMIT', { details: { max: svc.config.limits.wsPerTenant }, headers: { 'retry-after': '1' } }));
      return;
    }
    socket.once('close', place); // a handshake that never completes gives the place back
    wss.handleUpgrade(req, socket, head, (ws) => {
      const id = tenant.id;
      svc.sockets.add(id, ws);
      place();
      svc.metrics.wsConnections.inc();
      const abort = new AbortController();
      const notify = (method: string, params: unknown): void => {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ jsonrpc: '2.0', method, params }));
      };
      ws.on('message', (data, isBinary) => {
        const frame = isBinary ? '' : data.toString();
        void (async () => {
          if (!credentialStillValid(svc, id, tenant.actor.keyId)) {
            ws.close(4001, 'credential revoked (token rotated, tenant disabled or deleted)');
            return;
          }
          let rel: (() => void) | null = null;
          try {
            const gate = svc.ownership.enter(id);
            try {
              const admitted = svc.admission.admit(id);
              rel = () => {
                admitted();
                gate?.();
              };
            } catch (err) {
              gate?.();
              throw err;
            }
          } catch (err) {
            const e = toAppError(err);
            ws.send(JSON.stringify(rpcError(null, e.code, e.details)));
            return;
          }
          try {
            // Each message holds the tenant resident while it runs (an eviction waits for it).
            const lease = await svc.lifecycle.lease(id);
            const prev = rel;
            rel = () => {
              lease.release();
              prev?.();
            };
            await svc.sockets.serve(ws, async () => {
              const out = await dispatchRpcFrame(frame, {
                methods: svc.rpcMethods,
                maxBatch: svc.config.limits.rpcBatchMax,
                responseLimits: svc.config.limits,
                context: () => ({ tenant, signal: abort.signal, notify }),
                onCall: (method, outcome) => svc.metrics.rpcCalls.inc({ method: method ?? 'invalid', outcome }),
              });
              await svc.audit.flushed();
              if (out !== null && ws.readyState === ws.OPEN) ws.send(out);
            });
          } finally {
            rel?.();
          }
        })();
      });
      ws.on('close', () => {
        abort.abort();
        svc.sockets.remove(id, ws);
        svc.metrics.wsConnections.dec();
      });
      ws.on('error', () => ws.terminate());
    });
  };
}
