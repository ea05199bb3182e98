// Per-visitor message rate for WebChat: a token bucket per (tenant, channel, visitor), bounded in size.

export class VisitorRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly now: () => number;
  private readonly maxKeys: number;

  constructor(opts: { now: () => number; maxKeys?: number }) {
    this.now = opts.now;
    this.maxKeys = opts.maxKeys ?? 50_000;
  }

  /** Takes one message from the bucket; false when the visitor is over `perMinute`. */
  take(key: string, perMinute: number): boolean {
    const t = this.now();
    const b = this.buckets.get(key) ?? { tokens: perMinute, at: t };
    b.tokens = Math.min(perMinute, b.tokens + ((t - b.at) / 60_000) * perMinute);
    b.at = t;
    this.buckets.delete(key);
    if (b.tokens < 1) {
      this.buckets.set(key, b);
      return false;
    }
    b.tokens -= 1;
    this.buckets.set(key, b);
    // oldest-touched first: Map keeps insertion order and every take re-inserts
    while (this.buckets.size > this.maxKeys) this.buckets.delete(this.buckets.keys().next().value as string);
    return true;
  }
}
