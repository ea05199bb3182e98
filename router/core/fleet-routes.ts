// Fleet-wide admin routes answered by the router itself: the merged tenant list and the fleet status.
import { AppError } from '../errors/app-error.ts';
import { isTenantId } from '../identity/tenant-id.ts';
import type { Manifest, ManifestShard } from '../manifest/manifest-schema.ts';
import type { ManifestStatus } from '../manifest/manifest-poller.ts';
import type { Placement } from '../placement/rendezvous.ts';
import { errorResponse, jsonResponse } from './error-response.ts';
import { upstreamError, type Forwarder } from './forward-to-owner.ts';

export interface FleetDeps {
  readonly forward: Forwarder;
  readonly placement: Placement;
  readonly fanoutTimeoutMs: number;
  readonly manifestStatus?: () => ManifestStatus;
}

interface TenantView {
  id: string;
  [k: string]: unknown;
}

type ShardCall<T> = { shard: ManifestShard; ok: true; value: T; ms: number } | { shard: ManifestShard; ok: false; code: string; ms: number };

async function callShard<T>(deps: FleetDeps, shard: ManifestShard, path: string, authorization: string, requestId: string): Promise<ShardCall<T>> {
  const started = performance.now();
  try {
    const res = await deps.forward(
      shard.url,
      new Request(shard.url + path, {
        headers: { authorization, accept: 'application/json', 'x-request-id': requestId },
        signal: AbortSignal.timeout(deps.fanoutTimeoutMs),
      }),
    );
    const ms = performance.now() - started;
    if (res.status !== 200) {
      let code = `HTTP_${res.status}`;
      try {
        const body = (await res.json()) as { error?: { code?: unknown } };
        if (typeof body.error?.code === 'string') code = body.error.code;
      } catch {
        // a non-JSON error body: keep the status
      }
      return { shard, ok: false, code, ms };
    }
    return { shard, ok: true, value: (await res.json()) as T, ms };
  } catch (err) {
    return { shard, ok: false, code: upstreamError(err, shard.id).code, ms: performance.now() - started };
  }
}

/** `GET /v1/tenants?limit=&cursor=`: each shard's id-sorted page, merged; the cursor is the last id returned. */
export async function listTenantsAcrossFleet(deps: FleetDeps, manifest: Manifest, url: URL, authorization: string, requestId: string): Promise<Response> {
  const limitRaw = url.searchParams.get('limit');
  const limit = limitRaw === null ? 100 : Number(limitRaw);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
    return errorResponse(new AppError('VALIDATION_FAILED', { details: { field: 'limit', rule: 'an integer 1..500' } }), requestId);
  }
  const cursor = url.searchParams.get('cursor');
  if (cursor !== null && cursor !== '' && !isTenantId(cursor)) {
    return errorResponse(new AppError('VALIDATION_FAILED', { details: { field: 'cursor', rule: 'a tenant id' } }), requestId);
  }
  const qs = new URLSearchParams({ limit: String(limit) });
  if (cursor !== null && cursor !== '') qs.set('cursor', cursor);
  const calls = await Promise.all(
    manifest.shards.map((s) => callShard<{ tenants?: TenantView[]; nextCursor?: string | null }>(deps, s, `/v1/tenants?${qs}`, authorization, requestId)),
  );
  // Every shard refusing the key is an auth failure, not an outage: pass it on as such.
  if (calls.length > 0 && calls.every((c) => !c.ok && (c.code === 'AUTH_INVALID' || c.code === 'AUTH_REQUIRED' || c.code === 'AUTH_FORBIDDEN'))) {
    return errorResponse(new AppError((calls[0] as { code: 'AUTH_INVALID' }).code), requestId);
  }
  const byId = new Map<string, TenantView>();
  let more = false;
  const unavailable: { shard: string; code: string }[] = [];
  for (const c of calls) {
    if (!c.ok) {
      unavailable.push({ shard: c.shard.id, code: c.code });
      continue;
    }
    const page = Array.isArray(c.value.tenants) ? c.value.tenants : [];
    if (typeof c.value.nextCursor === 'string' || page.length > limit) more = true;
    for (const t of page.slice(0, limit)) {
      if (typeof t?.id !== 'string') continue;
      const seen = byId.get(t.id);
      // During a move a tenant can be listed twice: keep the copy on the shard placement names.
      if (seen === undefined || deps.placement.ownerOf(t.id, manifest) === c.shard.id) byId.set(t.id, t);
    }
  }
  const merged = [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (merged.length > limit) more = true;
  const tenants = merged.slice(0, limit);
  const nextCursor = more && tenants.length > 0 ? (tenants[tenants.length - 1] as TenantView).id : null;
  const body: Record<string, unknown> = { tenants, nextCursor };
  if (unavailable.length > 0) body['unavailableShards'] = unavailable;
  return jsonResponse(body, requestId, 200, unavailable.length > 0 ? { 'x-openclawmu-partial': '1' } : {});
}

/** `GET /v1/fleet`: the manifest the router holds and each shard's health and tenant count. */
export async function fleetStatus(deps: FleetDeps, manifest: Manifest, authorization: string, requestId: string): Promise<Response> {
  const calls = await Promise.all(
    manifest.shards.map((s) => callShard<{ id?: string; tenants?: number; inflight?: number; version?: string }>(deps, s, '/v1/shard', authorization, requestId)),
  );
  const shards = calls.map((c) =>
    c.ok
      ? {
          id: c.shard.id,
          url: c.shard.url,
          weight: c.shard.weight,
          status: c.value.id === undefined || c.value.id === c.shard.id ? 'up' : 'wrong-id',
          reportedId: c.value.id ?? null,
          tenants: c.value.tenants ?? null,
          inflight: c.value.inflight ?? null,
          version: c.value.version ?? null,
          latencyMs: Math.round(c.ms * 10) / 10,
        }
      : { id: c.shard.id, url: c.shard.url, weight: c.shard.weight, status: 'down', error: c.code, latencyMs: Math.round(c.ms * 10) / 10 },
  );
  const st = deps.manifestStatus?.();
  return jsonResponse(
    {
      manifest: {
        version: manifest.version,
        shards: manifest.shards.length,
        overrides: Object.keys(manifest.overrides).length,
        confirmedAt: st?.confirmedAt == null ? null : new Date(st.confirmedAt).toISOString(),
        invalidTotal: st?.invalidTotal ?? null,
        lastError: st?.lastError ?? null,
      },
      shards,
      tenants: shards.reduce((n, s) => n + (typeof (s as { tenants?: unknown }).tenants === 'number' ? (s as { tenants: number }).tenants : 0), 0),
    },
    requestId,
  );
}
