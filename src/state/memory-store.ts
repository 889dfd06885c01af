// The default store: this process's memory. Nothing is shared, nothing can fail.
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { createLocalLiveSet, type LiveSet } from './live-set.ts';
import { createSharedMap, type SharedMap, type SharedMapOptions } from './shared-map.ts';
import { checkLimiterOptions, type Limiter, type StateStore } from './store.ts';

export function createMemoryStore(): StateStore {
  // As on Redis, limiters (and maps) of one name are one (the first one's options hold).
  const limiters = new Map<string, Limiter>();
  const maps = new Map<string, SharedMap<unknown>>();
  const liveSets = new Map<string, LiveSet>();
  return {
    kind: 'memory',
    up: true,
    limiter(options): Limiter {
      checkLimiterOptions(options);
      let limiter = limiters.get(options.name);
      if (!limiter) {
        limiter = new RateLimiterMemory({ points: options.points, duration: options.duration, keyPrefix: options.name });
        limiters.set(options.name, limiter);
      }
      return limiter;
    },
    map<V>(options: SharedMapOptions<V>): SharedMap<V> {
      let map = maps.get(options.name);
      if (!map) {
        map = createSharedMap(options);
        maps.set(options.name, map);
      }
      return map as SharedMap<V>;
    },
    liveSet(options) {
      let set = liveSets.get(options.name);
      if (!set) {
        set = createLocalLiveSet(options.now);
        liveSets.set(options.name, set);
      }
      return set;
    },
    settled: async () => {},
    close: async () => {},
  };
}
