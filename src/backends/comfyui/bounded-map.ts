// A Map with a size bound (oldest entry out first) and an age limit: the adapter's memories of jobs
// must not grow with traffic.
export class BoundedMap<V> {
  private readonly entries = new Map<string, { value: V; at: number }>();
  private readonly max: number;
  private readonly maxAgeMs: number;
  private readonly now: () => number;

  constructor(max: number, maxAgeMs: number, now: () => number) {
    this.max = max;
    this.maxAgeMs = maxAgeMs;
    this.now = now;
  }

  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (this.now() - e.at > this.maxAgeMs) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  timeOf(key: string): number | undefined {
    return this.get(key) === undefined ? undefined : this.entries.get(key)?.at;
  }

  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, { value, at: this.now() });
    while (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
  }
}
