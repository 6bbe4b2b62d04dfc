// Token buckets per key (client-go's EventSourceObjectSpamFilter idea): a burst of `capacity` writes, then one per
// `refillMs`. Buckets that are full again are forgotten, so memory follows the keys that are busy right now.

export interface TokenBuckets {
  /** Takes a token of key: 0 when one was free, otherwise the ms until one will be (nothing taken). */
  take(key: string): number;
  /** Keys holding a bucket that is not full. */
  size(): number;
}

export function tokenBuckets(capacity: number, refillMs: number, now: () => number = Date.now): TokenBuckets {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const level = (key: string, t: number) => {
    const b = buckets.get(key);
    return b ? Math.min(capacity, b.tokens + (t - b.at) / refillMs) : capacity;
  };
  return {
    take(key) {
      const t = now();
      const tokens = level(key, t);
      // Sweep now and then: a bucket that refilled is the same as none.
      if (buckets.size > 1000) for (const k of buckets.keys()) if (level(k, t) >= capacity) buckets.delete(k);
      if (tokens < 1) return Math.ceil((1 - tokens) * refillMs);
      buckets.set(key, { tokens: tokens - 1, at: t });
      return 0;
    },
    size: () => buckets.size,
  };
}
