// A map shared by the replicas, with a size bound and per-entry expiry. Every write lands in this
// process's memory and, when the store answers, in the store; a read asks the store and falls back on
// this process's memory when the store fails, misses its deadline or is down. So a store outage costs
// only what other replicas learned meanwhile, never an answer this replica knows.
//
// A store can also come back *without* what it held (restarted without persistence, failed over to a
// replica that missed the last writes, evicted, flushed). So this replica re-asserts what it holds:
// - a read that finds the store missing an entry this replica holds (and that has not expired) writes
//   it back;
// - when the store may have lost entries (it answers again after an outage; the store's epoch key says
//   it was emptied), every live entry here is written back, with its original time, in batches, after
//   a random pause so that replicas do not all write at once.
// A write-back never replaces an entry the store holds with the same or a later time.
import { BoundedMap, type TimedEntry } from './bounded-map.ts';

export interface SharedMapOptions<V> {
  /** Names the map's keys in the store. */
  name: string;
  maxEntries: number;
  /** Entries older than this are gone (Infinity: only the size bound forgets). */
  maxAgeMs: number;
  now: () => number;
  /** A value read back from the store, checked: undefined when it is not one (it is never trusted blindly). */
  parse(value: unknown): V | undefined;
}

export interface SharedMap<V> {
  get(key: string): Promise<TimedEntry<V> | undefined>;
  /** Never rejects: a store failure leaves the entry in this process, to be written back. */
  set(key: string, value: V): Promise<void>;
  /**
   * Writes `value` only when `key` holds no live entry, and answers the entry the key holds after:
   * the first writer's, whichever replica wrote it (its value is `value` itself when this claim was first). Never rejects: when the store fails or is down,
   * only this process's entries are compared (replicas may then each keep their own until it is back).
   */
  claim(key: string, value: V): Promise<TimedEntry<V>>;
  /**
   * Live entries, newest first (by time written), from `offset` on, at most `count`: the store's when it
   * answers (every replica's writes), else this process's.
   */
  newest(offset: number, count: number): Promise<Array<[string, TimedEntry<V>]>>;
}

/** The store's copy of a map. Both operations reject on a failure or a missed deadline. */
export interface RemoteMap {
  get(key: string): Promise<TimedEntry<unknown> | undefined>;
  /** `ifNewer`: leave an entry the store holds with the same or a later time as it is (a write-back). */
  set(key: string, entry: TimedEntry<unknown>, ifNewer?: boolean): Promise<void>;
  /** Writes the entry unless the key holds a live one; answers the held one (undefined: this one was written). */
  claim(key: string, entry: TimedEntry<unknown>): Promise<TimedEntry<unknown> | undefined>;
  /** Entries newest first (by time written), from `offset` on, at most `count`. */
  newest(offset: number, count: number): Promise<Array<[string, TimedEntry<unknown>]>>;
}

export interface RemoteLink {
  map: RemoteMap;
  health: { readonly up: boolean; markDown(reason: string): void; onUp(listener: () => void): void };
  /**
   * `listener` runs each time the store may have lost entries (it is back after an outage, or was
   * emptied), after the store's own random pause. Without it, the map re-asserts on health.onUp.
   */
  onLoss?: ((listener: () => void) => void) | undefined;
  /** Between two batches of a re-assertion (default: none). */
  pause?: (() => Promise<void>) | undefined;
}

/** Entries written back at once (one pipeline) while re-asserting a whole map. */
export const REASSERT_BATCH = 100;

export function createSharedMap<V>(options: SharedMapOptions<V>, remote?: RemoteLink): SharedMap<V> {
  const local = new BoundedMap<V>(options.maxEntries, options.maxAgeMs, options.now);
  const newestHere = (offset: number, count: number) => [...local].sort(([, a], [, b]) => b.at - a.at).slice(offset, offset + count);
  const claimHere = (key: string, value: V): TimedEntry<V> => {
    const held = local.entry(key);
    if (held) return held;
    local.set(key, value);
    return local.entry(key)!;
  };
  if (!remote) {
    return {
      get: async (key) => local.entry(key),
      set: async (key, value) => local.set(key, value),
      claim: async (key, value) => claimHere(key, value),
      newest: async (offset, count) => newestHere(offset, count),
    };
  }
  const { map, health } = remote;
  const pause = remote.pause ?? (async () => {});

  // One re-assertion at a time; a loss signalled meanwhile runs it once more at the end.
  let reasserting = false;
  let again = false;
  async function reassertAll(): Promise<void> {
    if (reasserting) {
      again = true;
      return;
    }
    reasserting = true;
    try {
      do {
        again = false;
        const entries = [...local];
        for (let i = 0; i < entries.length; i += REASSERT_BATCH) {
          if (!health.up) return; // the next "up" starts over
          if (i > 0) await pause();
          await Promise.all(entries.slice(i, i + REASSERT_BATCH).map(([key, entry]) => map.set(key, entry, true)));
        }
      } while (again);
    } catch (e) {
      health.markDown(reasonOf(e));
    } finally {
      reasserting = false;
    }
  }
  if (remote.onLoss) remote.onLoss(() => void reassertAll());
  else health.onUp(() => void reassertAll());

  // A read that found the store without an entry held here writes it back (once at a time per key).
  const writingBack = new Set<string>();
  function writeBack(key: string, entry: TimedEntry<V>): void {
    if (writingBack.has(key)) return;
    writingBack.add(key);
    map.set(key, entry, true).then(
      () => writingBack.delete(key),
      (e: unknown) => {
        writingBack.delete(key);
        health.markDown(reasonOf(e));
      },
    );
  }

  return {
    async get(key) {
      const mine = local.entry(key);
      if (!health.up) return mine;
      let shared: TimedEntry<unknown> | undefined;
      try {
        shared = await map.get(key);
      } catch (e) {
        health.markDown(reasonOf(e));
        return mine;
      }
      // Absent from the store but known here (learned during an outage, or lost there): still true,
      // and the store is told again.
      if (shared === undefined) {
        if (mine !== undefined) writeBack(key, mine);
        return mine;
      }
      const value = options.now() - shared.at > options.maxAgeMs ? undefined : options.parse(shared.value);
      if (value === undefined) return mine;
      // Kept here too, so this replica still knows it during a later outage.
      if (mine === undefined || mine.at !== shared.at || mine.value !== value) local.set(key, value, shared.at);
      return { value, at: shared.at };
    },
    async set(key, value) {
      const at = options.now();
      local.set(key, value, at);
      if (!health.up) return; // written back when the store answers again
      try {
        await map.set(key, { value, at });
      } catch (e) {
        health.markDown(reasonOf(e));
      }
    },
    async claim(key, value) {
      if (!health.up) return claimHere(key, value);
      const entry = { value, at: options.now() };
      let held: TimedEntry<unknown> | undefined;
      try {
        held = await map.claim(key, entry);
      } catch (e) {
        health.markDown(reasonOf(e));
        return claimHere(key, value);
      }
      const parsed = held === undefined ? undefined : options.parse(held.value);
      // The store's entry when it holds a readable one, else this one (written there or unreadable there).
      const winner = held !== undefined && parsed !== undefined ? { value: parsed, at: held.at } : entry;
      local.set(key, winner.value, winner.at);
      return winner;
    },
    async newest(offset, count) {
      if (!health.up) return newestHere(offset, count);
      let shared: Array<[string, TimedEntry<unknown>]>;
      try {
        shared = await map.newest(offset, count);
      } catch (e) {
        health.markDown(reasonOf(e));
        return newestHere(offset, count);
      }
      const t = options.now();
      return shared.flatMap(([key, e]): Array<[string, TimedEntry<V>]> => {
        const value = t - e.at > options.maxAgeMs ? undefined : options.parse(e.value);
        return value === undefined ? [] : [[key, { value, at: e.at }]];
      });
    },
  };
}

function reasonOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
