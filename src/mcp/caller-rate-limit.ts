// A token bucket per caller (issuer + subject; everyone is one caller without authentication), so
// one runaway agent cannot flood the backends that every other agent shares. A refused call is the
// RATE_LIMITED tool error with the seconds until a token is back.

export interface CallerRateLimit {
  /** Takes a token for this caller; returns 0 when granted, else whole seconds to wait. */
  take(caller: string): number;
}

export function createCallerRateLimit(options: { perSecond: number; burst: number; now?: () => number; maxCallers?: number }): CallerRateLimit {
  const now = options.now ?? Date.now;
  const maxCallers = options.maxCallers ?? 100_000;
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    take(caller) {
      const t = now();
      let b = buckets.get(caller);
      if (b) {
        b.tokens = Math.min(options.burst, b.tokens + ((t - b.at) / 1000) * options.perSecond);
        b.at = t;
        buckets.delete(caller); // re-inserted below: the map stays in least-recently-used order
      } else {
        b = { tokens: options.burst, at: t };
        // Bound the memory: forget the least recently seen caller (a full bucket would be refilled anyway).
        if (buckets.size >= maxCallers) buckets.delete(buckets.keys().next().value!);
      }
      buckets.set(caller, b);
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return 0;
      }
      return Math.max(1, Math.ceil((1 - b.tokens) / options.perSecond));
    },
  };
}
