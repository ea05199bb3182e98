// Control-plane routes for backups (admin key): create, list, delete snapshots of a tenant; restore one.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PassThrough } from 'node:stream';
import { z } from 'zod';
import { AppError, TENANT_ID_RULE, isTenantId, toAppError } from '../../router/index.ts';
import { adminOf } from '../http/admin-scope.ts';
import { parseBody } from '../http/control-routes.ts';
import type { TenantSockets } from '../http/tenant-sockets.ts';
import type { BackupHost } from './backup-host.ts';

const RestoreBody = z
  .object({
    from: z.string().min(1).max(300),
    as: z.string().max(64).optional(),
    force: z.boolean().optional(),
  })
  .strict();

function idParam(req: FastifyRequest): string {
  const id = (req.params as { id?: string }).id ?? '';
  if (!isTenantId(id)) throw new AppError('SHARD_TENANT_ID_INVALID', { details: { rule: TENANT_ID_RULE } });
  return id;
}

interface Progress {
  readonly phase: string;
  readonly bytes: number;
  readonly total?: number;
}

/**
 * Answers with JSON, or, when the client sends `Accept: application/x-ndjson`, with one JSON line
 * per progress step (at most every 250 ms) and a final `{"event":"done","result":...}` or
 * `{"event":"error","error":...}` line: the CLI's progress display on long transfers.
 */
async function respond<T>(
  req: FastifyRequest,
  reply: FastifyReply,
  status: number,
  work: (progress: (p: Progress) => void) => Promise<T>,
): Promise<unknown> {
  const wantsStream = /application\/x-ndjson/.test(String(req.headers.accept ?? ''));
  if (!wantsStream) return reply.code(status).send(await work(() => undefined));
  const out = new PassThrough();
  let last = 0;
  let lastLine = '';
  let lastPhase = '';
  const progress = (p: Progress): void => {
    const now = Date.now();
    if (p.phase === lastPhase && now - last < 250) return;
    last = now;
    lastPhase = p.phase;
    lastLine = `${JSON.stringify({ event: 'progress', ...p })}\n`;
    out.write(lastLine);
  };
  // A long silent step (a big database copy) must not look like a dead connection to a client or proxy.
  const heartbeat = setInterval(() => {
    if (Date.now() - last >= 10_000) out.write(lastLine === '' ? `${JSON.stringify({ event: 'progress', phase: 'start', bytes: 0 })}\n` : lastLine);
  }, 10_000);
  heartbeat.unref();
  work(progress).then(
    (result) => {
      clearInterval(heartbeat);
      out.end(`${JSON.stringify({ event: 'done', status, result })}\n`);
    },
    (err: unknown) => {
      clearInterval(heartbeat);
      const e = toAppError(err);
      if (e.code === 'INTERNAL') req.log.error({ err }, 'backup/restore failed');
      out.end(`${JSON.stringify({ event: 'error', status: e.status, error: e.toJSON() })}\n`);
    },
  );
  return reply.code(200).type('application/x-ndjson').send(out);
}

/** Backup routes; registered inside the admin scope (its hook checks the admin key). */
export function registerBackupRoutes(app: FastifyInstance, host: BackupHost, sockets: TenantSockets): void {
  app.post('/v1/tenants/:id/backups', async (req, reply) => {
    const actor = adminOf(req);
    const id = idParam(req);
    return respond(req, reply, 201, (progress) => host.backup(id, { actor, requestId: String(req.id) }, progress));
  });

  app.get('/v1/tenants/:id/backups', async (req) => {
    const id = idParam(req);
    return { id, backups: await host.list(id) };
  });

  app.delete('/v1/tenants/:id/backups/:key', async (req) => {
    const actor = adminOf(req);
    const id = idParam(req);
    const key = (req.params as { key?: string }).key ?? '';
    return host.remove(id, key, { actor, requestId: String(req.id) });
  });

  app.post('/v1/tenants/restore', async (req, reply) => {
    const actor = adminOf(req);
    const body = parseBody(RestoreBody, req.body);
    const request = { from: body.from, ...(body.as === undefined ? {} : { as: body.as }), ...(body.force === undefined ? {} : { force: body.force }) };
    return respond(req, reply, 201, (progress) =>
      host.restore(request, { actor, requestId: String(req.id) }, progress, (id) => sockets.close(id, 'tenant replaced by a restore')),
    );
  });
}
