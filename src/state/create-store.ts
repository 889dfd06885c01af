// The state store a gateway runs on, from its settings (the config's `state` section): this process's
// memory, or a Redis or Valkey shared by every replica (reached directly or through Redis Sentinel).
import { createMemoryStore } from './memory-store.ts';
import { createRedisStore } from './redis-store.ts';
import type { StateStore, StateStoreDeps } from './store.ts';

/** The `state` section of the config, as this folder reads it. */
export interface StateStoreSettings {
  store: 'memory' | 'redis';
  /** Required with store: redis (the config schema checks it). */
  url?: string | undefined;
  /** Redis Sentinel: `host:port` each (the config schema checks them), with sentinel_master. */
  sentinels?: string[] | undefined;
  sentinel_master?: string | undefined;
  sentinel_password?: string | undefined;
  key_prefix: string;
  operation_timeout_ms: number;
}

export function createStateStore(settings: StateStoreSettings, deps: StateStoreDeps): StateStore {
  if (settings.store === 'memory') {
    deps.onHealth?.(true);
    return createMemoryStore();
  }
  return createRedisStore(
    {
      url: settings.url!,
      keyPrefix: settings.key_prefix,
      operationTimeoutMs: settings.operation_timeout_ms,
      sentinel:
        settings.sentinels === undefined
          ? undefined
          : { sentinels: settings.sentinels.map(parseAddress), master: settings.sentinel_master!, password: settings.sentinel_password },
    },
    deps,
  );
}

/** `host:port`, an IPv6 host in brackets. */
function parseAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(address.slice(colon + 1)) };
}
