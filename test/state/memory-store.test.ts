// The default store: this process's memory. Limiters of one name count together; maps keep their
// size bound and expiry on the injected clock; the store always answers.
import { describe, expect, it } from 'vitest';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { pino } from 'pino';
import { ManualClock } from '../../src/simulation/clock.ts';
import { createMemoryStore } from '../../src/state/memory-store.ts';
import { createStateStore } from '../../src/state/create-store.ts';

const stringValue = (v: unknown) => (typeof v === 'string' ? v : undefined);

describe('memory store', () => {
  it('is up, says so once, and shares a limiter by name', async () => {
    const told: boolean[] = [];
    const store = createStateStore(
      { store: 'memory', key_prefix: 'x:', operation_timeout_ms: 250 },
      { logger: pino({ level: 'silent' }), onHealth: (up) => told.push(up) },
    );
    expect(store.up).toBe(true);
    expect(told).toEqual([true]);
    const a = store.limiter({ name: 'n', points: 2, duration: 10 });
    const b = store.limiter({ name: 'n', points: 2, duration: 10 });
    await a.consume('k');
    await b.consume('k');
    await expect(a.consume('k')).rejects.toBeInstanceOf(RateLimiterRes);
    // Another name, another count.
    await expect(store.limiter({ name: 'other', points: 1, duration: 10 }).consume('k')).resolves.toBeInstanceOf(RateLimiterRes);
    await store.close();
  });

  it('refuses a window a Redis key could not hold', () => {
    expect(() => createMemoryStore().limiter({ name: 'n', points: 1, duration: 0.5 })).toThrow(/at least 1 s/);
  });

  it('keeps map entries with their time, forgets them past their age and beyond the size bound', async () => {
    const clock = new ManualClock();
    const map = createMemoryStore().map({ name: 'm', maxEntries: 2, maxAgeMs: 1_000, now: () => clock.now(), parse: stringValue });
    const t0 = clock.now();
    await map.set('a', 'host-1');
    expect(await map.get('a')).toEqual({ value: 'host-1', at: t0 });
    clock.advance(1_001);
    expect(await map.get('a')).toBeUndefined();
    await map.set('a', 'x');
    await map.set('b', 'y');
    await map.set('c', 'z');
    expect(await map.get('a')).toBeUndefined(); // the oldest went first
    expect((await map.get('c'))?.value).toBe('z');
  });

  it('gives each store its own memory (two gateways in one process share nothing)', async () => {
    const clock = new ManualClock();
    const options = { name: 'm', maxEntries: 10, maxAgeMs: Infinity, now: () => clock.now(), parse: stringValue };
    const one = createMemoryStore();
    await one.map(options).set('job', 'gpu1');
    expect(await createMemoryStore().map(options).get('job')).toBeUndefined();
    await one.limiter({ name: 'n', points: 1, duration: 10 }).consume('k');
    await expect(createMemoryStore().limiter({ name: 'n', points: 1, duration: 10 }).consume('k')).resolves.toBeDefined();
  });
});
