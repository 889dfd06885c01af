// The state store a gateway runs on, from its settings (the config's `state` section): this process's
// memory, or a Redis or Valkey shared by every replica.
import { createMemoryStore } from './memory-store.ts';
import { createRedisStore } from './redis-store.ts';
import type { StateStore, StateStoreDeps } from './store.ts';

/** The `state` section of the config, as this folder reads it. */
export interface StateStoreSettings {
  store: 'memory' | 'redis';
  /** Required with store: redis (the config schema checks it). */
  url?: string | undefined;
  key_prefix: string;
  operation_timeout_ms: number;
}

export function createStateStore(settings: StateStoreSettings, deps: StateStoreDeps): StateStore {
  if (settings.store === 'memory') {
    deps.onHealth?.(true);
    return createMemoryStore();
  }
  return createRedisStore({ url: settings.url!, keyPrefix: settings.key_prefix, operationTimeoutMs: settings.operation_timeout_ms }, deps);
}
