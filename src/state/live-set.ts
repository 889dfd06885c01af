// Sets of members that each end at a time of their own, under keys, with a bound on how many of a
// key's are live: what a caller holds at once across replicas (its MCP tasks). A member past its
// end no longer counts; one that ends early is removed. The store's copy (redis-live-set.ts) makes
// the count and the add one atomic step; this process's copy serves `store: memory`, and a Redis
// store while it fails.

/** The outcome of an add: added, or refused with the time the first live member ends (ms since the epoch). */
export type LiveSetAdd = { added: true } | { added: false; freesAt: number };

export interface LiveSet {
  /**
   * Adds `member` to `key`'s set, live until `until` (ms since the epoch), unless the set holds `max`
   * live members. Never rejects: while the store fails, this process's members are counted.
   */
  add(key: string, member: string, until: number, max: number): Promise<LiveSetAdd>;
  /** Takes `member` out of `key`'s set. Never rejects. */
  remove(key: string, member: string): Promise<void>;
}

export interface LiveSetOptions {
  /** Names the sets' keys in the store. */
  name: string;
  now: () => number;
}

/** Adds between two sweeps of every key's ended members (a key no one adds to again is swept too). */
const SWEEP_EVERY = 1000;

/** This process's live sets, and how many keys they hold (what they cost of memory). */
export function createLocalLiveSet(now: () => number): LiveSet & { keys(): number } {
  const sets = new Map<string, Map<string, number>>();
  let adds = 0;
  const live = (key: string): Map<string, number> | undefined => {
    const set = sets.get(key);
    if (!set) return undefined;
    const t = now();
    for (const [member, until] of set) if (until <= t) set.delete(member);
    if (set.size === 0) sets.delete(key);
    return set.size > 0 ? set : undefined;
  };
  return {
    async add(key, member, until, max) {
      if (++adds % SWEEP_EVERY === 0) for (const k of [...sets.keys()]) live(k);
      const set = live(key);
      if (set && set.size >= max) return { added: false, freesAt: Math.min(...set.values()) };
      (set ?? sets.set(key, new Map()).get(key)!).set(member, until);
      return { added: true };
    },
    async remove(key, member) {
      const set = sets.get(key);
      if (!set) return;
      set.delete(member);
      if (set.size === 0) sets.delete(key);
    },
    keys: () => sets.size,
  };
}
