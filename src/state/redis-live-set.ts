// Live sets on Redis: one sorted set a key (member → the time it ends), trimmed of ended members and
// counted in the same script that adds, so replicas adding at once never pass the bound together.
// A store that fails never fails a call: the operation is served from this process's copy, and the
// store is marked down.
import type { Redis } from 'ioredis';
import { createLocalLiveSet, type LiveSet } from './live-set.ts';

// KEYS: the sorted set. ARGV: member, its end (ms), the bound, now (ms). Returns the earliest end of
// the live members when the set is full, else false (added). The key expires with its last member.
const ADD_LIVE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[4])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  return redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2]
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
local last = tonumber(redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')[2])
redis.call('PEXPIRE', KEYS[1], math.max(1, math.ceil(last - tonumber(ARGV[4]))))
return false
`;

const COMMAND = 'mcpJobGatewayLiveAdd';
type WithLiveAdd = Redis & { [COMMAND](...args: (string | number)[]): Promise<unknown> };

/** Defines the add script on the client. */
export function defineLiveSetCommands(client: Redis): void {
  client.defineCommand(COMMAND, { numberOfKeys: 1, lua: ADD_LIVE });
}

export interface RedisLiveSetOptions {
  /** Prefix of the sets' keys. */
  keyPrefix: string;
  now: () => number;
  health: { readonly up: boolean; markDown(reason: string): void };
  /** Runs one store operation under the store's deadline. */
  deadline<T>(operation: Promise<T>): Promise<T>;
}

export function createRedisLiveSet(client: Redis, options: RedisLiveSetOptions): LiveSet {
  const local = createLocalLiveSet(options.now);
  const keyOf = (key: string) => `${options.keyPrefix}${key}`;
  const down = (e: unknown) => options.health.markDown(e instanceof Error ? e.message : String(e));
  return {
    async add(key, member, until, max) {
      if (!options.health.up) return local.add(key, member, until, max);
      try {
        const held = await options.deadline((client as WithLiveAdd)[COMMAND](keyOf(key), member, until, max, options.now()));
        return held === null || held === undefined ? { added: true } : { added: false, freesAt: Number(held) };
      } catch (e) {
        down(e);
        return local.add(key, member, until, max);
      }
    },
    async remove(key, member) {
      await local.remove(key, member);
      if (!options.health.up) return;
      try {
        await options.deadline(client.zrem(keyOf(key), member));
      } catch (e) {
        down(e);
      }
    },
  };
}
