// A Map with a size bound (oldest entry out first) and an age limit: what the gateway remembers about
// jobs must not grow with traffic. Each entry keeps the time it was written.
export interface TimedEntry<V> {
  value: V;
  /** Milliseconds since the epoch when it was written. */
  at: number;
}

export class BoundedMap<V> {
  private readonly entries = new Map<string, TimedEntry<V>>();
  private readonly max: number;
  private readonly maxAgeMs: number;
  private readonly now: () => number;

  constructor(max: number, maxAgeMs: number, now: () => number) {
    this.max = max;
    this.maxAgeMs = maxAgeMs;
    this.now = now;
  }

  entry(key: string): TimedEntry<V> | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (this.now() - e.at > this.maxAgeMs) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }

  /** Writes `key` as the newest entry; `at` defaults to now (an entry learned elsewhere keeps its own time). */
  set(key: string, value: V, at = this.now()): void {
    this.entries.delete(key);
    this.entries.set(key, { value, at });
    while (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Live entries, oldest first. */
  *[Symbol.iterator](): IterableIterator<[string, TimedEntry<V>]> {
    const t = this.now();
    for (const [k, e] of this.entries) if (t - e.at <= this.maxAgeMs) yield [k, e];
  }
}
