// A shared map on Redis: one hash (key → JSON {v, at}) and one sorted set (key → time written), so
// the size bound and the age limit hold there too. One script writes an entry and trims the oldest
// beyond the bound and those past the age limit, atomically; a read is a single HGET, and the newest
// entries are read in the sorted set's order. A write that
// re-asserts what a replica already knew (a write-back) is conditional: it never replaces an entry the
// store holds with the same or a later time.
import type { Redis } from 'ioredis';
import type { TimedEntry } from './bounded-map.ts';
import type { RemoteMap } from './shared-map.ts';

// Writes an entry (HSET, ZADD) and trims the oldest beyond the bound and those past the age limit;
// leaves the number trimmed in `gone`. KEYS: the hash, the sorted set. ARGV: key, entry JSON, time
// written (ms), max entries, max age in ms (0: none), now (ms), then the script's own argument.
const WRITE_ENTRY = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
local maxAge = tonumber(ARGV[5])
local gone = {}
if maxAge > 0 then
  gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. (tonumber(ARGV[6]) - maxAge))
end
local excess = redis.call('ZCARD', KEYS[2]) - #gone - tonumber(ARGV[4])
if excess > 0 then
  for _, k in ipairs(redis.call('ZRANGE', KEYS[2], #gone, #gone + excess - 1)) do gone[#gone + 1] = k end
end
for _, k in ipairs(gone) do
  redis.call('HDEL', KEYS[1], k)
  redis.call('ZREM', KEYS[2], k)
end
if maxAge > 0 then
  redis.call('PEXPIRE', KEYS[1], maxAge)
  redis.call('PEXPIRE', KEYS[2], maxAge)
end
`;

// A write; ARGV[7] is 1 when it must not replace an entry of the same or a later time (else 0).
// Returns how many entries it trimmed, or -1 when it kept the store's newer entry.
const SET_ENTRY = `
if ARGV[7] == '1' and redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  local held = redis.call('ZSCORE', KEYS[2], ARGV[1])
  if held and tonumber(held) >= tonumber(ARGV[3]) then return -1 end
end
${WRITE_ENTRY}
return #gone
`;

// A claim: writes the entry only when the key holds none that is live (one past the age limit is
// absent). Returns the entry JSON the key held, or false when this one was written.
const CLAIM_ENTRY = `
local held = redis.call('HGET', KEYS[1], ARGV[1])
if held then
  local written = redis.call('ZSCORE', KEYS[2], ARGV[1])
  local maxAge = tonumber(ARGV[5])
  if written and (maxAge == 0 or tonumber(written) >= tonumber(ARGV[6]) - maxAge) then return held end
end
${WRITE_ENTRY}
return false
`;

const COMMAND = 'mcpJobGatewayMapSet';
const CLAIM = 'mcpJobGatewayMapClaim';
type WithMapCommands = Redis & {
  [COMMAND](...args: (string | number)[]): Promise<unknown>;
  [CLAIM](...args: (string | number)[]): Promise<unknown>;
};

/** Defines the write scripts on the client (EVALSHA, sent in full only when the server lacks them). */
export function defineMapCommands(client: Redis): void {
  client.defineCommand(COMMAND, { numberOfKeys: 2, lua: SET_ENTRY });
  client.defineCommand(CLAIM, { numberOfKeys: 2, lua: CLAIM_ENTRY });
}

export interface RedisMapOptions {
  /** Full key of the hash; the sorted set is this plus ":order". */
  key: string;
  maxEntries: number;
  maxAgeMs: number;
  now: () => number;
  /** Runs one store operation under the store's deadline. */
  deadline<T>(operation: Promise<T>): Promise<T>;
}

export function createRedisMap(client: Redis, options: RedisMapOptions): RemoteMap {
  const order = `${options.key}:order`;
  const maxAge = Number.isFinite(options.maxAgeMs) ? Math.ceil(options.maxAgeMs) : 0;
  return {
    async get(key) {
      const raw = await options.deadline(client.hget(options.key, key));
      return raw === null ? undefined : parseEntry(raw);
    },
    async newest(offset, count) {
      // The sorted set orders the keys by time written; the hash holds their entries.
      const keys = await options.deadline(client.zrevrange(order, offset, offset + count - 1));
      if (keys.length === 0) return [];
      const raws = await options.deadline(client.hmget(options.key, ...keys));
      return keys.flatMap((key, i): Array<[string, TimedEntry<unknown>]> => {
        const raw = raws[i];
        const e = raw === null || raw === undefined ? undefined : parseEntry(raw);
        return e ? [[key, e]] : [];
      });
    },
    async set(key, entry, ifNewer = false) {
      const json = JSON.stringify({ v: entry.value, at: entry.at });
      await options.deadline(
        (client as WithMapCommands)[COMMAND](
          options.key,
          order,
          key,
          json,
          entry.at,
          options.maxEntries,
          maxAge,
          options.now(),
          ifNewer ? 1 : 0,
        ),
      );
    },
    async claim(key, entry) {
      const json = JSON.stringify({ v: entry.value, at: entry.at });
      const held = await options.deadline(
        (client as WithMapCommands)[CLAIM](options.key, order, key, json, entry.at, options.maxEntries, maxAge, options.now(), 0),
      );
      return typeof held === 'string' ? parseEntry(held) : undefined;
    },
  };
}

/** An entry as stored; anything else (another program's key, a damaged value) reads as absent. */
function parseEntry(raw: string): TimedEntry<unknown> | undefined {
  try {
    const e = JSON.parse(raw) as { v?: unknown; at?: unknown };
    return typeof e === 'object' && e !== null && typeof e.at === 'number' && Number.isFinite(e.at) && e.v !== undefined
      ? { value: e.v, at: e.at }
      : undefined;
  } catch {
    return undefined;
  }
}
