// The Redis store when Redis is not well (the real-Redis tests are in test/e2e/shared-state.test.ts):
// a closed port, a server that accepts and never answers, and one that answers and then stops
// answering. Whatever happens, every operation is served within the deadline from this process's
// memory, the gauge and one log line say so, the password is never logged, and sharing resumes.
import type { Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { ManualClock } from '../../src/simulation/clock.ts';
import { createStateStore } from '../../src/state/create-store.ts';
import { createRedisStore } from '../../src/state/redis-store.ts';
import type { StateStore } from '../../src/state/store.ts';
import { fakeRedis, fakeSentinel, listen } from '../helpers/fake-redis.ts';
import { freePort } from '../../scripts/tools/ports.ts';

const PASSWORD = 's3cret-PW';
const DEADLINE_MS = 100;

interface LogLine {
  level: number;
  msg: string;
  event?: string;
  url?: string;
  reason?: string;
}

const stores: StateStore[] = [];
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

function redisStore(port: number) {
  const lines: LogLine[] = [];
  const gauge: boolean[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
  const store = createStateStore(
    { store: 'redis', url: `redis://:${PASSWORD}@127.0.0.1:${port}/0`, key_prefix: 't:', operation_timeout_ms: DEADLINE_MS },
    { logger, onHealth: (up) => gauge.push(up) },
  );
  stores.push(store);
  const clock = new ManualClock();
  const map = store.map({
    name: 'tombstones',
    maxEntries: 10,
    maxAgeMs: 60_000,
    now: () => clock.now(),
    parse: (v) => (typeof v === 'string' ? v : undefined),
  });
  const logged = () => JSON.stringify(lines);
  return { store, map, lines, gauge, logged, clock };
}

async function timed<T>(p: Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await p;
  return { value, ms: performance.now() - started };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('redis store: unreachable', () => {
  it('a closed port: start-up goes on, logged loudly without the password, gauge 0, every operation answered at once from memory', async () => {
    const r = redisStore(await freePort());
    await r.store.settled(2_000);
    expect(r.store.up).toBe(false);
    expect(r.gauge).toEqual([false]);
    const down = r.lines.filter((l) => l.event === 'state_store_down');
    expect(down).toHaveLength(1);
    expect(down[0]).toMatchObject({ level: 50, url: expect.stringMatching(/^redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\/0$/) });
    expect(down[0]!.msg).toMatch(/unreachable at start-up/);

    const set = await timed(r.map.set('job-1', 'gpu1'));
    const get = await timed(r.map.get('job-1'));
    expect(get.value?.value).toBe('gpu1');
    expect(set.ms + get.ms).toBeLessThan(DEADLINE_MS);

    // The rate limiter answers from its in-memory insurance: the budget still holds, per replica.
    const limiter = r.store.limiter({ name: 'caller', points: 2, duration: 10 });
    const consume = await timed(limiter.consume('agent'));
    expect(consume.ms).toBeLessThan(DEADLINE_MS);
    await limiter.consume('agent');
    await expect(limiter.consume('agent')).rejects.toBeInstanceOf(RateLimiterRes);

    await sleep(300); // reconnect attempts meanwhile: still one line
    expect(r.lines.filter((l) => l.event === 'state_store_down')).toHaveLength(1);
    expect(r.logged()).not.toContain(PASSWORD);
  });

  it('a server that accepts and never answers: start-up waits at most its bound, then every operation is served from memory within the deadline', async () => {
    const { port } = await listen(() => {}, servers);
    const r = redisStore(port);
    const started = await timed(r.store.settled(300));
    expect(started.ms).toBeLessThan(1_000);
    expect(r.store.up).toBe(false);
    expect(r.lines.find((l) => l.event === 'state_store_down')).toMatchObject({ level: 50, reason: 'no answer within 300 ms of start-up' });

    await r.map.set('job-2', 'gpu2');
    const get = await timed(r.map.get('job-2'));
    expect(get.value?.value).toBe('gpu2');
    const limiter = r.store.limiter({ name: 'caller', points: 1, duration: 10 });
    const consume = await timed(limiter.consume('agent'));
    expect(consume.ms).toBeLessThan(DEADLINE_MS + 100);
    await expect(limiter.consume('agent')).rejects.toBeInstanceOf(RateLimiterRes);
    expect(r.logged()).not.toContain(PASSWORD);
  });
});

describe('redis store: a server that stops answering, then answers again', () => {
  it('holds the deadline, says down once, serves from memory, and on its return says so and writes back what it missed', async () => {
    const redis = await fakeRedis({ password: PASSWORD, servers });
    const r = redisStore(redis.port);
    await r.store.settled(2_000);
    expect(r.store.up).toBe(true);
    expect(r.gauge).toEqual([false, true]);
    expect(r.lines.find((l) => l.event === 'state_store_up')).toMatchObject({ level: 30 });

    // Shared: the write is on the server.
    await r.map.set('job-a', 'gpu1');
    expect(redis.hashes.get('t:map:tombstones')?.get('job-a')).toContain('"v":"gpu1"');

    redis.state.hang = true;
    const during = r.clock.now();
    const get = await timed(r.map.get('job-a'));
    expect(get.value?.value).toBe('gpu1'); // from this process's memory
    expect(get.ms).toBeLessThan(DEADLINE_MS + 100);
    expect(r.store.up).toBe(false);
    expect(r.gauge).toEqual([false, true, false]);
    await r.map.set('job-b', 'gpu2'); // learned during the outage
    expect((await r.map.get('job-b'))?.value).toBe('gpu2');
    const down = r.lines.filter((l) => l.event === 'state_store_down');
    expect(down).toHaveLength(1);
    expect(down[0]).toMatchObject({ level: 40, reason: `no answer within ${DEADLINE_MS} ms` });

    // The silent connection is dropped; the server answers again and the client reconnects.
    redis.state.hang = false;
    await expect.poll(() => r.store.up, { timeout: 10_000, interval: 50 }).toBe(true);
    expect(r.lines.filter((l) => l.event === 'state_store_up').map((l) => l.msg)).toEqual([
      'state store connected: what the gateway learns is shared',
      'state store answers again: sharing resumes',
    ]);
    await expect
      .poll(() => redis.hashes.get('t:map:tombstones')?.get('job-b'), { timeout: 2_000 })
      .toBe(JSON.stringify({ v: 'gpu2', at: during }));
    expect(r.logged()).not.toContain(PASSWORD);
  }, 20_000);
});

describe('redis store: a server that answers but refuses writes', () => {
  it('is down while writes fail, although the connection stays up, and up again once a write succeeds', async () => {
    const redis = await fakeRedis({ password: PASSWORD, servers });
    const r = redisStore(redis.port);
    await r.store.settled(2_000);
    redis.state.refuseWrites = true;
    await r.map.set('job-c', 'gpu1');
    expect(r.store.up).toBe(false);
    expect(r.lines.find((l) => l.event === 'state_store_down')).toMatchObject({ level: 40, reason: expect.stringMatching(/^OOM /) });
    expect((await r.map.get('job-c'))?.value).toBe('gpu1');
    redis.state.refuseWrites = false;
    // The connection never dropped: the store is tried again every second.
    await expect.poll(() => r.store.up, { timeout: 5_000, interval: 100 }).toBe(true);
    await expect.poll(() => redis.hashes.get('t:map:tombstones')?.has('job-c'), { timeout: 2_000 }).toBe(true);
    expect(r.lines.filter((l) => l.event === 'state_store_down')).toHaveLength(1);
  }, 10_000);
});

describe('redis store: a server that loses what it held', () => {
  it('emptied under a live connection (FLUSHDB): its epoch key says so, and every entry this replica holds is written back', async () => {
    const redis = await fakeRedis({ password: PASSWORD, servers });
    const lines: LogLine[] = [];
    const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
    const store = createRedisStore(
      {
        url: `redis://:${PASSWORD}@127.0.0.1:${redis.port}/0`,
        keyPrefix: 't:',
        operationTimeoutMs: DEADLINE_MS,
        epochCheckIntervalMs: 50,
        reassertJitterMs: 10,
      },
      { logger },
    );
    stores.push(store);
    const clock = new ManualClock();
    const map = store.map({ name: 'tombstones', maxEntries: 10, maxAgeMs: 60_000, now: () => clock.now(), parse: (v) => v });
    await store.settled(2_000);
    await expect.poll(() => redis.strings.get('t:epoch'), { timeout: 2_000 }).toBeDefined();
    const epoch = redis.strings.get('t:epoch');
    const at = clock.now();
    await map.set('job-a', 'gpu1');
    await map.set('job-b', 'gpu2');

    redis.hashes.clear();
    redis.strings.clear();
    await expect.poll(() => redis.hashes.get('t:map:tombstones')?.size, { timeout: 5_000, interval: 20 }).toBe(2);
    expect(redis.hashes.get('t:map:tombstones')?.get('job-a')).toBe(JSON.stringify({ v: 'gpu1', at }));
    expect(redis.strings.get('t:epoch')).not.toBe(epoch);
    expect(lines.filter((l) => l.event === 'state_store_emptied')).toHaveLength(1);
    expect(lines.find((l) => l.event === 'state_store_emptied')).toMatchObject({ level: 40 });
    expect(store.up).toBe(true);
  }, 10_000);
});

describe('redis store: through Redis Sentinel', () => {
  it('asks the Sentinel for the master, follows a failover to the server it names next, and writes back there what it holds', async () => {
    const first = await fakeRedis({ password: PASSWORD, servers });
    const second = await fakeRedis({ password: PASSWORD, servers });
    const sentinel = await fakeSentinel({ name: 'mymaster', masterPort: first.port, password: 'sentinel-pw', servers });
    const lines: LogLine[] = [];
    const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
    const store = createStateStore(
      {
        store: 'redis',
        url: `redis://:${PASSWORD}@mymaster/0`,
        sentinels: [`127.0.0.1:${sentinel.port}`],
        sentinel_master: 'mymaster',
        sentinel_password: 'sentinel-pw',
        key_prefix: 't:',
        operation_timeout_ms: DEADLINE_MS,
      },
      { logger },
    );
    stores.push(store);
    const clock = new ManualClock();
    const map = store.map({ name: 'tombstones', maxEntries: 10, maxAgeMs: 60_000, now: () => clock.now(), parse: (v) => v });
    await store.settled(2_000);
    expect(store.up).toBe(true);
    expect(sentinel.state.commands).toContainEqual(['auth', 'sentinel-pw']);
    expect(sentinel.state.commands).toContainEqual(['sentinel', 'get-master-addr-by-name', 'mymaster']);
    const at = clock.now();
    await map.set('job-a', 'gpu1');
    expect(first.hashes.get('t:map:tombstones')?.get('job-a')).toBe(JSON.stringify({ v: 'gpu1', at }));

    // The Sentinel promotes another server and the old master goes away: the store follows it, and
    // the new master, which never got the entry, gets it back with its original time.
    sentinel.state.masterPort = second.port;
    await new Promise((resolve) => first.server.close(resolve));
    await expect
      .poll(() => second.hashes.get('t:map:tombstones')?.get('job-a'), { timeout: 10_000, interval: 50 })
      .toBe(JSON.stringify({ v: 'gpu1', at }));
    expect(store.up).toBe(true);
    const ups = lines.filter((l) => l.event === 'state_store_up');
    expect(ups).toHaveLength(2);
    expect(ups[0]).toMatchObject({
      sentinels: [`127.0.0.1:${sentinel.port}`],
      sentinel_master: 'mymaster',
      url: 'redis://:***@mymaster/0',
    });
    expect(JSON.stringify(lines)).not.toContain(PASSWORD);
    expect(JSON.stringify(lines)).not.toContain('sentinel-pw');
  }, 20_000);
});
