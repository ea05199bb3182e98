// Which shards the router currently cannot reach, from health probes: a shard URL that fails `failures`
// probes in a row is down (its tenants get 503 ROUTER_SHARD_UNREACHABLE at once, and requests waiting
// on it are ended) until one probe succeeds. Keyed by URL: a shard restarted elsewhere starts fresh.
// Pure state; the probing itself is an adapter's job.
export interface ShardReachability {
  /** One probe's outcome for a shard. */
  report(shardUrl: string, ok: boolean): void;
  isDown(shardUrl: string): boolean;
  /** Called once each time a shard goes from up to down. */
  onDown(listener: (shardUrl: string) => void): void;
  /** Shards no longer in the manifest are forgotten. */
  retain(shardUrls: readonly string[]): void;
}

export function createShardReachability(opts: { failures: number }): ShardReachability {
  const failures = new Map<string, number>();
  const down = new Set<string>();
  const listeners: Array<(shardUrl: string) => void> = [];
  return {
    report(shardUrl, ok) {
      if (ok) {
        failures.delete(shardUrl);
        down.delete(shardUrl);
        return;
      }
      const n = (failures.get(shardUrl) ?? 0) + 1;
      failures.set(shardUrl, n);
      if (n >= opts.failures && !down.has(shardUrl)) {
        down.add(shardUrl);
        for (const l of listeners) l(shardUrl);
      }
    },
    isDown: (shardUrl) => down.has(shardUrl),
    onDown(listener) {
      listeners.push(listener);
    },
    retain(shardUrls) {
      const keep = new Set(shardUrls);
      for (const id of [...failures.keys()]) if (!keep.has(id)) failures.delete(id);
      for (const id of [...down]) if (!keep.has(id)) down.delete(id);
    },
  };
}
