// Which tenant a request is for, read from the request itself (never a lookup), in the DESIGN order.
import { parseSnapshotName } from '../identity/snapshot-key.ts';
import { presentedCredential } from '../identity/credential.ts';
import { isTenantId, parseTenantToken } from '../identity/tenant-id.ts';

export type TenantSource = 'token' | 'hook-path' | 'tenant-path' | 'create-body' | 'ws-protocol';

export interface ResolvedTenant {
  readonly tenantId: string;
  readonly source: TenantSource;
}

/** The minimal request shape, so the Node upgrade path can use it without building a Request. */
export interface RequestHead {
  readonly method: string;
  readonly pathname: string;
  header(name: string): string | null;
}

const HOOK_PATH = /^\/hooks\/([^/]+)(?:\/|$)/;
const TENANT_PATH = /^\/v1\/tenants\/([^/]+)(?:\/|$)/;

/**
 * Order: `/hooks/<id>/…` (the path wins for webhooks); `Authorization: Bearer tk_<id>_…` (or
 * `x-api-key: tk_<id>_…`); `/v1/tenants/<id>…`; (the body of `POST /v1/tenants`, see `isTenantCreate`);
 * a tk_ entry of `Sec-WebSocket-Protocol`. Null when none.
 */
export function tenantFromHead(head: RequestHead): ResolvedTenant | null {
  // A webhook belongs to the tenant its path names, whatever Authorization it carries: platforms
  // authenticate with their own signatures, and a stray tenant token must not route it elsewhere.
  const hook = HOOK_PATH.exec(head.pathname);
  if (hook !== null) {
    const id = safeDecode(hook[1] as string);
    if (isTenantId(id)) return { tenantId: id, source: 'hook-path' };
  }
  const bearer = presentedCredential(head.header('authorization'), head.header('x-api-key'));
  if (bearer !== null) {
    const tok = parseTenantToken(bearer);
    if (tok !== null) return { tenantId: tok.tenantId, source: 'token' };
  }
  const tp = TENANT_PATH.exec(head.pathname);
  if (tp !== null) {
    const id = safeDecode(tp[1] as string);
    if (isTenantId(id)) return { tenantId: id, source: 'tenant-path' };
  }
  const protocols = head.header('sec-websocket-protocol');
  if (protocols !== null) {
    for (const p of protocols.split(',')) {
      const tok = parseTenantToken(p.trim());
      if (tok !== null) return { tenantId: tok.tenantId, source: 'ws-protocol' };
    }
  }
  return null;
}

/** `POST /v1/tenants`: the tenant id is in the JSON body. */
export function isTenantCreate(method: string, pathname: string): boolean {
  return method === 'POST' && (pathname === '/v1/tenants' || pathname === '/v1/tenants/');
}

/** The `id` of a tenant-create body; null when the body is not JSON or has no valid id. */
export function tenantFromCreateBody(body: Uint8Array): ResolvedTenant | null {
  const id = jsonObjectOf(body)?.['id'];
  return isTenantId(id) ? { tenantId: id, source: 'create-body' } : null;
}

/** A small JSON body as an object; null when it is not JSON or not an object. */
function jsonObjectOf(body: Uint8Array): Record<string, unknown> | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(body));
  } catch {
    return null;
  }
  return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** `POST /v1/tenants/restore`: the tenant is the body's `as`, else the tenant its snapshot key names. */
export function isTenantRestore(method: string, pathname: string): boolean {
  return method === 'POST' && (pathname === '/v1/tenants/restore' || pathname === '/v1/tenants/restore/');
}

/**
 * The target tenant of a restore body: `as` when given, else the tenant `from` names, in any form the
 * shard accepts (archive key, sidecar key, `<id>/<snapshot>`: one parser, router/identity/snapshot-key.ts).
 */
export function tenantFromRestoreBody(body: Uint8Array): ResolvedTenant | null {
  const rec = jsonObjectOf(body);
  if (rec === null) return null;
  if (rec['as'] !== undefined) return isTenantId(rec['as']) ? { tenantId: rec['as'], source: 'create-body' } : null;
  const from = typeof rec['from'] === 'string' ? parseSnapshotName(rec['from']) : null;
  return from === null ? null : { tenantId: from.tenantId, source: 'create-body' };
}
