// A map shared by the replicas, with a size bound and per-entry expiry. Every write lands in this
// process's memory and, when the store answers, in the store; a read asks the store and falls back on
// this process's memory when the store fails, misses its deadline or is down. So a store outage costs
// only what other replicas learned meanwhile, never an answer this replica knows. Writes the store
// could not take are written back (with their original times) when it answers again.
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
}

/** The store's copy of a map. Both operations reject on a failure or a missed deadline. */
export interface RemoteMap {
  get(key: string): Promise<TimedEntry<unknown> | undefined>;
  set(key: string, entry: TimedEntry<unknown>): Promise<void>;
}

export interface RemoteLink {
  map: RemoteMap;
  health: { readonly up: boolean; markDown(reason: string): void; onUp(listener: () => void): void };
}

export function createSharedMap<V>(options: SharedMapOptions<V>, remote?: RemoteLink): SharedMap<V> {
  const local = new BoundedMap<V>(options.maxEntries, options.maxAgeMs, options.now);
  if (!remote) {
    return {
      get: async (key) => local.entry(key),
      set: async (key, value) => local.set(key, value),
    };
  }
  const { map, health } = remote;
  const unsynced = new BoundedMap<V>(options.maxEntries, options.maxAgeMs, options.now);
  let writingBack = false;

  async function writeBack(): Promise<void> {
    if (writingBack) return;
    writingBack = true;
    try {
      for (const [key, entry] of [...unsynced]) {
        if (!health.up) return;
        await map.set(key, entry);
        unsynced.delete(key);
      }
    } catch (e) {
      health.markDown(reasonOf(e));
    } finally {
      writingBack = false;
    }
  }
  health.onUp(() => void writeBack());

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
      const value = shared === undefined || options.now() - shared.at > options.maxAgeMs ? undefined : options.parse(shared.value);
      // Absent from the store but known here (learned during an outage, or evicted there): still true.
      if (value === undefined) return mine;
      // Kept here too, so this replica still knows it during a later outage.
      if (mine === undefined || mine.at !== shared!.at || mine.value !== value) local.set(key, value, shared!.at);
      return { value, at: shared!.at };
    },
    async set(key, value) {
      const at = options.now();
      local.set(key, value, at);
      if (health.up) {
        try {
          await map.set(key, { value, at });
          unsynced.delete(key); // an older unsynced write must not overwrite this one later
          return;
        } catch (e) {
          health.markDown(reasonOf(e));
        }
      }
      unsynced.set(key, value, at);
    },
  };
}

function reasonOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
