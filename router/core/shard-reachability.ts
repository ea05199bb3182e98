// Which shards the router currently cannot reach, from health probes: a shard that fails `failures`
// probes in a row is down (its tenants get 503 ROUTER_SHARD_UNREACHABLE at once, and requests waiting
// on it are ended) until one probe succeeds. Pure state; the probing itself is an adapter's job.
export interface ShardReachability {
  /** One probe's outcome for a shard. */
  report(shardId: string, ok: boolean): void;
  isDown(shardId: string): boolean;
  /** Called once each time a shard goes from up to down. */
  onDown(listener: (shardId: string) => void): void;
  /** Shards no longer in the manifest are forgotten. */
  retain(shardIds: readonly string[]): void;
}

export function createShardReachability(opts: { failures: number }): ShardReachability {
  const failures = new Map<string, number>();
  const down = new Set<string>();
  const listeners: Array<(shardId: string) => void> = [];
  return {
    report(shardId, ok) {
      if (ok) {
        failures.delete(shardId);
        down.delete(shardId);
        return;
      }
      const n = (failures.get(shardId) ?? 0) + 1;
      failures.set(shardId, n);
      if (n >= opts.failures && !down.has(shardId)) {
        down.add(shardId);
        for (const l of listeners) l(shardId);
      }
    },
    isDown: (shardId) => down.has(shardId),
    onDown(listener) {
      listeners.push(listener);
    },
    retain(shardIds) {
      const keep = new Set(shardIds);
      for (const id of [...failures.keys()]) if (!keep.has(id)) failures.delete(id);
      for (const id of [...down]) if (!keep.has(id)) down.delete(id);
    },
  };
}
