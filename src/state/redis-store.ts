// The shared store on Redis or Valkey (ioredis). What keeps a failing store from ever failing a call:
// - no offline queue: while disconnected every operation fails at once and is served locally;
// - a deadline on every operation (operation_timeout_ms), and a socket that stays silent for a few
//   deadlines is dropped and reconnected, so a server that accepts and never answers costs at most
//   one deadline per call until then, and nothing after;
// - reconnection forever, at most every 2 s; sharing resumes on the first answer.
// What keeps a store that comes back empty from losing what the replicas knew: each time the store
// answers again, and each time its epoch key (written once by whichever replica finds it missing)
// is found missing or changed, every shared map re-asserts what this replica holds (shared-map.ts),
// after a random pause of up to REASSERT_JITTER_MS so that the replicas spread their writes.
// The URL's password is never logged: lines name the store by its URL with the password masked.
import { randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { createStoreHealth } from './health.ts';
import { createRedisLimiter } from './redis-limiter.ts';
import { createRedisMap, defineMapCommands } from './redis-map.ts';
import { createRedisLiveSet, defineLiveSetCommands } from './redis-live-set.ts';
import { createSharedMap } from './shared-map.ts';
import type { StateStore, StateStoreDeps } from './store.ts';

export interface RedisStoreConfig {
  url: string;
  keyPrefix: string;
  operationTimeoutMs: number;
  /** Redis Sentinel: ask these for the master named `master`; the URL then gives only credentials, database and TLS. */
  sentinel?: { sentinels: { host: string; port: number }[]; master: string; password?: string | undefined } | undefined;
  /** Tests only: EPOCH_CHECK_INTERVAL_MS and REASSERT_JITTER_MS shortened. */
  epochCheckIntervalMs?: number | undefined;
  reassertJitterMs?: number | undefined;
}

/** While the store is down with the connection open (e.g. after an error answer), how often it is tried again. */
const PROBE_INTERVAL_MS = 1_000;
/** How long the store waits, once ioredis has given a connection up, before connecting again. */
const RECONNECT_AFTER_END_MS = 1_000;
/** While the store is up, how often its epoch key is read (a store emptied under a live connection). */
export const EPOCH_CHECK_INTERVAL_MS = 5_000;
/** Longest random pause before a replica re-asserts its entries. */
export const REASSERT_JITTER_MS = 1_000;
/** Pause between two batches of a re-assertion. */
const REASSERT_PAUSE_MS = 10;

export function createRedisStore(config: RedisStoreConfig, deps: StateStoreDeps): StateStore {
  const timeoutMs = config.operationTimeoutMs;
  const redact = passwordRedactor(config.url, config.sentinel?.password);
  let lastError = 'no answer yet';
  let closing = false;
  let probe: NodeJS.Timeout | undefined;
  let epochTimer: NodeJS.Timeout | undefined;
  const lossTimers = new Set<NodeJS.Timeout>();
  const lossListeners: (() => void)[] = [];
  /** The store's epoch as this replica last read it (undefined: not read since start-up). */
  let epoch: string | undefined;
  const epochKey = `${config.keyPrefix}epoch`;

  let reported: boolean | undefined;
  const report = (up: boolean) => {
    if (up !== reported) deps.onHealth?.(up);
    reported = up;
  };
  const sentinel = config.sentinel;
  /** How log lines name the store (never a password). */
  const storeFields: Record<string, unknown> = sentinel
    ? {
        store: 'redis',
        url: maskedUrl(config.url),
        sentinels: sentinel.sentinels.map((s) => `${s.host.includes(':') ? `[${s.host}]` : s.host}:${s.port}`),
        sentinel_master: sentinel.master,
      }
    : { store: 'redis', url: maskedUrl(config.url) };
  const health = createStoreHealth({
    logger: deps.logger,
    fields: storeFields,
    onChange(up) {
      report(up);
      if (up) {
        stopProbe();
        startEpochChecks();
      } else {
        startProbe();
        stopEpochChecks();
      }
    },
  });
  // Back after an outage (or connected at start-up): whatever it held may be gone.
  health.onUp(() => {
    void checkEpoch(false);
    lost();
  });
  report(false); // until the first answer

  const client = new Redis(config.url, {
    enableOfflineQueue: false,
    commandTimeout: timeoutMs,
    socketTimeout: Math.max(1_000, 4 * timeoutMs),
    connectTimeout: Math.max(2_000, 4 * timeoutMs),
    maxRetriesPerRequest: 0,
    retryStrategy: (times) => Math.min(100 * times, 2_000),
    connectionName: 'mcp-job-gateway',
    protocol: 2, // every Redis and Valkey speaks it; nothing here needs RESP3
    ...(sentinel && sentinelOptions(sentinel, config.url.startsWith('rediss:'), timeoutMs)),
  });
  defineMapCommands(client);
  defineLiveSetCommands(client);
  client.on('error', (e: Error) => {
    lastError = redact(e.message);
  });
  client.on('ready', () => health.markUp());
  // ioredis gives a connection up in some paths whatever retryStrategy says: a Sentinel lookup cut
  // short during a reconnect ("Connection is closed.") ends the client for good (status "end"), and
  // a replica then stayed on its own memory after a failover. The store never gives up: it starts
  // connecting again, as a retry would.
  let reconnectTimer: NodeJS.Timeout | undefined;
  client.on('end', () => {
    if (closing) return;
    health.markDown(lastError === 'no answer yet' ? 'connection closed' : lastError);
    clearTimeout(reconnectTimer);
    reconnectTimer = setTimeout(() => {
      if (!closing && client.status === 'end') client.connect().catch(() => {});
    }, RECONNECT_AFTER_END_MS);
  });
  client.on('close', () => {
    if (!closing) health.markDown(lastError === 'no answer yet' ? 'connection closed' : lastError);
  });

  function deadline<T>(operation: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    const failed = (e: unknown) => {
      const said = e instanceof Error ? e.message : String(e);
      // ioredis's own deadline (commandTimeout) usually fires first: say the same either way.
      return Promise.reject(new Error(said === 'Command timed out' ? `no answer within ${timeoutMs} ms` : redact(said)));
    };
    return Promise.race([operation.catch(failed), late]).finally(() => clearTimeout(timer));
  }

  /** Tells every map, after a random pause, that the store may have lost entries. */
  function lost(): void {
    if (closing || lossListeners.length === 0) return;
    const timer = setTimeout(
      () => {
        lossTimers.delete(timer);
        if (!closing) for (const l of lossListeners) l();
      },
      Math.random() * (config.reassertJitterMs ?? REASSERT_JITTER_MS),
    );
    timer.unref();
    lossTimers.add(timer);
  }

  /**
   * Reads the epoch key (writing one when it is missing); a changed one means the store lost its data,
   * which is logged and, with `signal`, re-asserted (on an "up" the maps are told anyway).
   */
  async function checkEpoch(signal: boolean): Promise<void> {
    try {
      await deadline(client.set(epochKey, randomUUID(), 'NX'));
      const now = await deadline(client.get(epochKey));
      if (now === null) return;
      if (epoch !== undefined && now !== epoch) {
        deps.logger.warn(
          { event: 'state_store_emptied', ...storeFields },
          'state store lost what it held (its epoch key is new): every replica writes back what it knows',
        );
        if (signal) lost();
      }
      epoch = now;
    } catch (e) {
      health.markDown(redact(e instanceof Error ? e.message : String(e)));
    }
  }
  function startEpochChecks(): void {
    if (epochTimer || closing) return;
    epochTimer = setInterval(() => void checkEpoch(true), config.epochCheckIntervalMs ?? EPOCH_CHECK_INTERVAL_MS);
    epochTimer.unref();
  }
  function stopEpochChecks(): void {
    clearInterval(epochTimer);
    epochTimer = undefined;
  }

  function startProbe(): void {
    if (probe || closing) return;
    probe = setInterval(() => {
      if (client.status !== 'ready') return; // a reconnect's "ready" marks it up by itself
      // A write, not a PING: a server that answers but refuses writes (out of memory, a read-only
      // replica) is still down for the gateway.
      deadline(client.set(`${config.keyPrefix}probe`, '1', 'PX', 60_000)).then(
        () => health.markUp(),
        () => {},
      );
    }, PROBE_INTERVAL_MS);
    probe.unref();
  }
  function stopProbe(): void {
    clearInterval(probe);
    probe = undefined;
  }

  let firstOutcome: Promise<void> | undefined;

  return {
    kind: 'redis',
    get up() {
      return health.up;
    },
    limiter(options) {
      return createRedisLimiter(client, {
        ...options,
        keyPrefix: `${config.keyPrefix}rl:${options.name}`,
        timeoutMs,
        onFallback: () => health.markDown(client.status === 'ready' ? 'a rate-limit operation failed or missed its deadline' : lastError),
      });
    },
    map(options) {
      const remote = createRedisMap(client, {
        key: `${config.keyPrefix}map:${options.name}`,
        maxEntries: options.maxEntries,
        maxAgeMs: options.maxAgeMs,
        now: options.now,
        deadline,
      });
      return createSharedMap(options, {
        map: remote,
        health,
        onLoss: (listener) => lossListeners.push(listener),
        pause: () => new Promise((resolve) => setTimeout(resolve, REASSERT_PAUSE_MS)),
      });
    },
    liveSet(options) {
      return createRedisLiveSet(client, { keyPrefix: `${config.keyPrefix}live:${options.name}:`, now: options.now, health, deadline });
    },
    settled(ms) {
      firstOutcome ??= new Promise<void>((resolve) => {
        if (client.status === 'ready') return resolve();
        const timer = setTimeout(() => {
          health.markDown(`no answer within ${ms} ms of start-up`);
          done();
        }, ms);
        const done = () => {
          clearTimeout(timer);
          client.off('ready', done);
          client.off('close', done);
          resolve();
        };
        client.once('ready', done);
        client.once('close', done);
      });
      return firstOutcome;
    },
    async close() {
      closing = true;
      stopProbe();
      stopEpochChecks();
      for (const t of lossTimers) clearTimeout(t);
      clearTimeout(reconnectTimer);
      try {
        await deadline(client.quit());
      } catch {
        client.disconnect();
      }
    },
  };
}

/**
 * ioredis's Sentinel mode: the master is the one the Sentinels name (asked again on every reconnect),
 * a failover they announce (+switch-master) makes the client reconnect at once, and a write refused
 * because the server became a replica (READONLY) does too. With rediss:// both the master and the
 * Sentinels are reached over TLS.
 */
function sentinelOptions(sentinel: NonNullable<RedisStoreConfig['sentinel']>, tls: boolean, timeoutMs: number): RedisOptions {
  return {
    sentinels: sentinel.sentinels,
    name: sentinel.master,
    ...(sentinel.password !== undefined && { sentinelPassword: sentinel.password }),
    sentinelRetryStrategy: (times) => Math.min(100 * times, 2_000),
    sentinelCommandTimeout: Math.max(1_000, 4 * timeoutMs),
    failoverDetector: true,
    reconnectOnError: (e) => e.message.startsWith('READONLY'),
    ...(tls && { tls: {}, enableTLSForSentinelMode: true, sentinelTLS: {} }),
  };
}

/** The URL with its password masked, for logs. */
export function maskedUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

/** Removes the URL's password (as written and decoded) and the Sentinels' from a text that might quote them. */
function passwordRedactor(url: string, sentinelPassword?: string): (text: string) => string {
  let secrets: string[] = sentinelPassword ? [sentinelPassword] : [];
  try {
    const p = new URL(url).password;
    if (p) secrets = [...new Set([...secrets, p, decodeURIComponent(p)])];
  } catch {
    // not a URL: the config check refuses it before this runs
  }
  return (text) => secrets.reduce((t, s) => t.split(s).join('[redacted]'), text).slice(0, 300);
}
