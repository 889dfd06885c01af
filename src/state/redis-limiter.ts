// rate-limiter-flexible on Redis, as the gateway runs it: every operation under the store's deadline
// (RLWrapperTimeouts), and on any store error or missed deadline the same limiter in this process's
// memory answers instead (RLF's insurance limiter): during an outage budgets are per replica, and no
// call waits on or fails because of the store.
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RLWrapperTimeouts, type RateLimiterRes } from 'rate-limiter-flexible';
import { checkLimiterOptions, type Limiter, type LimiterOptions } from './store.ts';

// RLF's own script (lib/RateLimiterRedis.js) with the window in milliseconds (PX) instead of whole
// seconds (EX), so a 10.5 s window is 10.5 s on Redis as it is in memory. ARGV[4]: the duration in seconds.
const INCR_WITH_PX = `
local ms = math.floor(tonumber(ARGV[4]) * 1000)
redis.call('set', KEYS[1], 0, 'PX', ms, 'NX')
local consumed = redis.call('incrby', KEYS[1], ARGV[1])
local ttl = redis.call('pttl', KEYS[1])
if ttl == -1 then
  redis.call('pexpire', KEYS[1], ms)
  ttl = ms
end
return {consumed, ttl}
`;

type Options = Record<string, unknown>;

/** The insurance limiter: tells the store's health each time it has to answer (the store failed). */
class FallbackLimiter extends RateLimiterMemory {
  private readonly onUse: () => void;
  constructor(options: { points: number; duration: number; keyPrefix: string }, onUse: () => void) {
    super(options);
    this.onUse = onUse;
  }
  override consume(key: string | number, points?: number, options?: Options): Promise<RateLimiterRes> {
    this.onUse();
    return super.consume(key, points, options);
  }
  override reward(key: string | number, points?: number, options?: Options): Promise<RateLimiterRes> {
    this.onUse();
    return super.reward(key, points, options);
  }
  override penalty(key: string | number, points?: number, options?: Options): Promise<RateLimiterRes> {
    this.onUse();
    return super.penalty(key, points, options);
  }
  override set(key: string | number, points: number, secDuration: number): Promise<RateLimiterRes> {
    this.onUse();
    return super.set(key, points, secDuration);
  }
  override delete(key: string | number): Promise<boolean> {
    this.onUse();
    return super.delete(key);
  }
  override get(key: string | number, options?: Options): Promise<RateLimiterRes | null> {
    this.onUse();
    return super.get(key, options);
  }
}

export interface RedisLimiterOptions extends LimiterOptions {
  /** Full key prefix of this limiter's keys. */
  keyPrefix: string;
  timeoutMs: number;
  /** Called when the insurance limiter answered because the store did not. */
  onFallback: () => void;
}

export function createRedisLimiter(client: Redis, options: RedisLimiterOptions): Limiter {
  checkLimiterOptions(options);
  const { points, duration, keyPrefix } = options;
  const shared = new RateLimiterRedis({
    storeClient: client,
    points,
    duration,
    keyPrefix,
    rejectIfRedisNotReady: true, // fail over at once while disconnected, rather than after the deadline
    customIncrTtlLuaScript: INCR_WITH_PX,
  });
  const insuranceLimiter = new FallbackLimiter({ points, duration, keyPrefix }, options.onFallback);
  return new RLWrapperTimeouts({ limiter: shared, timeoutMs: options.timeoutMs, insuranceLimiter });
}
