// The one WebSocket upgrade dispatcher of a shard: each path belongs to one handler (the RPC
// transport, features' wsPaths); any other path is answered 404 and its socket closed at once.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../router/errors/app-error.ts';
import type { WsUpgrade } from '../app/shard-feature.ts';

/** Answers an upgrade with an HTTP error and closes the socket (no upgrade happens). */
export function refuseUpgrade(socket: Duplex, err: AppError): void {
  const body = JSON.stringify({ error: err.toJSON() });
  const extra = Object.entries(err.headers ?? {}).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.on('error', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${err.status} ${err.code}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`,
    () => socket.destroy(),
  );
}

export type UpgradeHandler = (upgrade: WsUpgrade) => void;

export function attachUpgradeDispatcher(app: FastifyInstance, paths: ReadonlyMap<string, UpgradeHandler>): void {
  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://shard');
    } catch {
      refuseUpgrade(socket, new AppError('BAD_REQUEST', { message: 'Invalid request target.' }));
      return;
    }
    const handler = paths.get(url.pathname);
    if (handler === undefined) {
      refuseUpgrade(socket, new AppError('NOT_FOUND', { details: { method: 'GET', path: url.pathname.slice(0, 200) } }));
      return;
    }
    handler({ req, socket, head, url });
  });
}
