// Probes every shard in the manifest (GET /healthz, own connections, short timeout) and feeds the
// outcomes to the router's ShardReachability; a shard behind a cut link is found in ~2 probe rounds.
import { Agent, request } from 'undici';
import type { ManifestView } from '../manifest/manifest-poller.ts';
import type { ShardReachability } from '../core/shard-reachability.ts';

export interface ShardProber {
  close(): Promise<void>;
}

export function startShardProber(opts: { manifest: ManifestView; reachability: ShardReachability; intervalMs: number; timeoutMs: number }): ShardProber {
  // Its own connections: a probe must not queue behind (or be stuck on) the forwarding pools.
  const agent = new Agent({ connect: { timeout: opts.timeoutMs }, connections: 1, keepAliveTimeout: Math.max(opts.intervalMs * 2, 1000) });
  let running = false;
  const round = async (): Promise<void> => {
    const manifest = opts.manifest.current();
    if (manifest === null || running) return;
    running = true;
    try {
      opts.reachability.retain(manifest.shards.map((s) => s.id));
      await Promise.all(
        manifest.shards.map(async (s) => {
          try {
            const res = await request(`${s.url}/healthz`, { dispatcher: agent, headersTimeout: opts.timeoutMs, bodyTimeout: opts.timeoutMs, signal: AbortSignal.timeout(opts.timeoutMs) });
            await res.body.dump();
            opts.reachability.report(s.id, true); // any HTTP answer: the shard is reachable
          } catch {
            opts.reachability.report(s.id, false);
          }
        }),
      );
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void round(), opts.intervalMs);
  timer.unref();
  return {
    async close() {
      clearInterval(timer);
      await agent.destroy().catch(() => {});
    },
  };
}
