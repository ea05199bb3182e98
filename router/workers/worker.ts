// The router as a Workers module worker: the same core (router/core) with fetch as its forwarder and the
// manifest read on demand from an http(s) or s3:// source (no timers outlive a request on this runtime).
import { createRouterCore, type RouterCore } from '../core/router-core.ts';
import type { Forwarder } from '../core/forward-to-owner.ts';
import { createManifestPoller, type ManifestPoller } from '../manifest/manifest-poller.ts';
import { httpManifestSource } from '../manifest/http-manifest-source.ts';
import type { ManifestSource } from '../manifest/manifest-source.ts';
import { initPlacement } from '../placement/rendezvous.ts';
import { parseWorkerEnv, type WorkerEnv } from './worker-env.ts';
import { s3FetchManifestSource } from './s3-fetch-manifest-source.ts';

/** A fetch() answer to an upgrade on a Workers runtime carries the client end of the socket pair. */
type UpgradeResponse = Response & { readonly webSocket?: unknown };
type UpgradeResponseInit = ResponseInit & { webSocket?: unknown };

interface WorkerRouter {
  readonly core: RouterCore;
  readonly manifest: ManifestPoller;
  readonly env: WorkerEnv;
  checkedAt: number;
}

export function manifestSourceFor(env: WorkerEnv): ManifestSource {
  if (env.MANIFEST_URL.startsWith('s3://')) {
    return s3FetchManifestSource({ url: env.MANIFEST_URL, accessKeyId: env.S3_ACCESS_KEY_ID ?? '', secretAccessKey: env.S3_SECRET_ACCESS_KEY ?? '' });
  }
  return httpManifestSource(env.MANIFEST_URL);
}

/**
 * Forwards with the runtime's fetch and hands back a response whose headers the core may set. An
 * upgrade's 101 is rebuilt around its `webSocket` (a 101 cannot be built from a body).
 */
export const fetchForwarder: Forwarder = async (_shardUrl, req) => {
  const res = (await fetch(req)) as UpgradeResponse;
  if (res.status === 101 && res.webSocket !== undefined) {
    const init: UpgradeResponseInit = { status: 101, headers: res.headers, webSocket: res.webSocket };
    return new Response(null, init);
  }
  return new Response(res.body, res);
};

async function createWorkerRouter(rawEnv: unknown): Promise<WorkerRouter> {
  const env = parseWorkerEnv(rawEnv);
  const manifest = createManifestPoller({ source: manifestSourceFor(env) });
  const core = createRouterCore({
    manifest,
    manifestStatus: () => manifest.status(),
    placement: await initPlacement(),
    forward: fetchForwarder,
    adminKeyHashes: env.ADMIN_KEY_HASHES,
    upgradesByFetch: true,
    limits: { holdLimitMs: env.HOLD_LIMIT_MS, maxHops: env.MAX_HOPS },
  });
  return { core, manifest, env, checkedAt: -Infinity };
}

// One router per isolate: its manifest copy and auth throttle live as long as the isolate does.
let router: Promise<WorkerRouter> | undefined;

export default {
  async fetch(req: Request, env: unknown): Promise<Response> {
    router ??= createWorkerRouter(env);
    let r: WorkerRouter;
    try {
      r = await router;
    } catch (err) {
      router = undefined;
      throw err;
    }
    const now = Date.now();
    if (now - r.checkedAt >= r.env.MANIFEST_MAX_AGE_MS || r.manifest.current() === null) {
      r.checkedAt = now;
      await r.manifest.refresh();
    }
    const addr = r.env.TRUST_CF_CONNECTING_IP ? req.headers.get('cf-connecting-ip') : null;
    return r.core.fetch(req, addr === null ? {} : { clientAddress: addr });
  },
};
