// The state store: where what one replica learns is kept, so that every replica answers alike.
// `memory` (the default) is this process alone; `redis` is a Redis or Valkey that every replica
// shares. Both offer the same three things: rate limiters (rate-limiter-flexible, the same code on
// either), maps with per-entry expiry, and live sets (how many of a key's members are live, bounded). A store that fails never fails a call: see redis-store.ts.
//
// Time: a map takes its clock as an option (`now`, the gateway's clock). A limiter does not:
// rate-limiter-flexible reads the global Date.now() in its memory store (and Redis's own clock, PX
// expiry, on Redis) with no hook for another clock, and a limiter of our own is not worth the risk.
// Tests of budgets move the global Date instead of sleeping (vi.useFakeTimers({ toFake: ['Date'] })).
import type { Logger } from 'pino';
import type { RateLimiterRes } from 'rate-limiter-flexible';
import type { LiveSet, LiveSetOptions } from './live-set.ts';
import type { SharedMap, SharedMapOptions } from './shared-map.ts';

/** What the gateway uses of a rate-limiter-flexible limiter; a refusal rejects with a RateLimiterRes. */
export interface Limiter {
  consume(key: string, points?: number): Promise<RateLimiterRes>;
  reward(key: string, points?: number): Promise<RateLimiterRes>;
  /** Sets the count of `key` for `secDuration` (whole) seconds. */
  set(key: string, points: number, secDuration: number): Promise<RateLimiterRes>;
  /** Forgets `key`: its next consume starts a new window. */
  delete(key: string): Promise<boolean>;
}

export interface LimiterOptions {
  /** Names the limiter's keys: limiters of one name on one shared store share their counts. */
  name: string;
  points: number;
  /** The window in seconds: at least 1 (fractions allowed), or 0 for counts that never expire. */
  duration: number;
}

export interface StateStore {
  readonly kind: 'memory' | 'redis';
  /** Whether the store answers (memory: always). */
  readonly up: boolean;
  limiter(options: LimiterOptions): Limiter;
  map<V>(options: SharedMapOptions<V>): SharedMap<V>;
  /** Sets whose members each end at their own time, with a bound on a key's live members (live-set.ts). */
  liveSet(options: LiveSetOptions): LiveSet;
  /** Resolves once the first connection attempt has succeeded or failed, or after `ms` (then counted as down). */
  settled(ms: number): Promise<void>;
  close(): Promise<void>;
}

export interface StateStoreDeps {
  logger: Logger;
  /** Told whether the store answers: once at creation and on every change (the metric). */
  onHealth?: ((up: boolean) => void) | undefined;
}

/** Refuses windows a Redis key could not hold (rate-limiter-flexible keeps a window under 1 s forever there). */
export function checkLimiterOptions(options: LimiterOptions): void {
  if (!(options.duration === 0 || options.duration >= 1))
    throw new Error(`limiter "${options.name}": a window is 0 (never expires) or at least 1 s, not ${options.duration}`);
  if (!(options.points >= 1)) throw new Error(`limiter "${options.name}": at least 1 point`);
}
