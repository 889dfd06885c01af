// The shared map against a store copy that answers, fails, or comes back: reads prefer the store
// (another replica's write is seen), fall back on this process's memory on any failure, and what
// was written during an outage is written back, with its original time, when the store answers. A store
// that lost entries (restarted empty, flushed, failed over) gets back what this replica holds, without
// an entry it holds with a later time ever being replaced.
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { ManualClock } from '../../src/simulation/clock.ts';
import type { TimedEntry } from '../../src/state/bounded-map.ts';
import { createStoreHealth } from '../../src/state/health.ts';
import { createSharedMap, REASSERT_BATCH, type RemoteMap } from '../../src/state/shared-map.ts';

/** A store copy shared by "replicas", which can be made to fail. */
function fakeRemote() {
  const data = new Map<string, TimedEntry<unknown>>();
  let failing = false;
  const calls: string[] = [];
  const map: RemoteMap = {
    async get(key) {
      calls.push(`get ${key}`);
      if (failing) throw new Error('connection refused');
      return data.get(key);
    },
    async set(key, entry, ifNewer) {
      calls.push(`set ${key}`);
      if (failing) throw new Error('connection refused');
      const held = data.get(key);
      if (ifNewer && held !== undefined && held.at >= entry.at) return;
      data.set(key, entry);
    },
    async claim(key, entry) {
      calls.push(`claim ${key}`);
      if (failing) throw new Error('connection refused');
      const held = data.get(key);
      if (held !== undefined) return held;
      data.set(key, entry);
      return undefined;
    },
    async newest(offset, count) {
      calls.push(`newest ${offset} ${count}`);
      if (failing) throw new Error('connection refused');
      return [...data].sort(([, a], [, b]) => b.at - a.at).slice(offset, offset + count);
    },
  };
  return { map, data, calls, fail: (on: boolean) => (failing = on) };
}

function replica(remote: RemoteMap, clock: ManualClock) {
  const lines: { level: number; msg: string; reason?: string }[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  const health = createStoreHealth({ logger, fields: { store: 'redis' } });
  health.markUp();
  const map = createSharedMap(
    { name: 'm', maxEntries: 100, maxAgeMs: 60_000, now: () => clock.now(), parse: (v) => (typeof v === 'string' ? v : undefined) },
    { map: remote, health },
  );
  return { map, health, lines };
}

describe('shared map', () => {
  it("lists the newest entries of every replica from the store, and this replica's own while the store fails", async () => {
    const clock = new ManualClock();
    const remote = fakeRemote();
    const a = replica(remote.map, clock);
    const b = replica(remote.map, clock);
    await a.map.set('job-1', 'gpu1');
    clock.advance(1000);
    await b.map.set('job-2', 'gpu2');
    clock.advance(1000);
    await a.map.set('job-3', 'gpu1');
    expect((await b.map.newest(0, 10)).map(([k]) => k)).toEqual(['job-3', 'job-2', 'job-1']);
    expect(await b.map.newest(1, 1)).toEqual([['job-2', { value: 'gpu2', at: clock.now() - 1000 }]]);
    clock.advance(59_000); // job-1 is now past the age limit
    expect((await b.map.newest(0, 10)).map(([k]) => k)).toEqual(['job-3', 'job-2']);
    remote.fail(true);
    expect((await a.map.newest(0, 10)).map(([k]) => k)).toEqual(['job-3']);
  });

  it("reads another replica's write from the store", async () => {
    const clock = new ManualClock();
    const remote = fakeRemote();
    const a = replica(remote.map, clock);
    const b = replica(remote.map, clock);
    await a.map.set('job-1', 'gpu2');
    expect(await b.map.get('job-1')).toEqual({ value: 'gpu2', at: clock.now() });
  });

  it("claims an entry once: the first replica's value is what every replica's claim answers", async () => {
    const clock = new ManualClock();
    const remote = fakeRemote();
    const a = replica(remote.map, clock);
    const b = replica(remote.map, clock);
    const first = await a.map.claim('task-1', 'completed');
    clock.advance(1000);
    expect(await b.map.claim('task-1', 'cancelled')).toEqual(first);
    expect(first).toEqual({ value: 'completed', at: clock.now() - 1000 });
    expect(await b.map.get('task-1')).toEqual(first);
    // While the store fails, a claim is this process's alone; it does not reject.
    remote.fail(true);
    expect(await b.map.claim('task-2', 'cancelled')).toEqual({ value: 'cancelled', at: clock.now() });
    expect(await b.map.claim('task-1', 'cancelled')).toEqual(first); // known here already
  });

  it('ignores what the store holds past its age, or in a shape it did not write', async () => {
    const clock = new ManualClock();
    const remote = fakeRemote();
    const b = replica(remote.map, clock);
    remote.data.set('old', { value: 'gpu1', at: clock.now() - 60_001 });
    remote.data.set('odd', { value: { not: 'a host' }, at: clock.now() });
    expect(await b.map.get('old')).toBeUndefined();
    expect(await b.map.get('odd')).toBeUndefined();
  });

  it('falls back on its own memory when the store fails, says so once, and writes back when it returns', async () => {
    const clock = new ManualClock();
    const remote = fakeRemote();
    const a = replica(remote.map, clock);
    await a.map.set('before', 'gpu1');
    remote.fail(true);
    const during = clock.now();
    await a.map.set('during', 'gpu2'); // answered: kept here, written back later
    expect(a.health.up).toBe(false);
    expect(await a.map.get('during')).toEqual({ value: 'gpu2', at: during });
    expect(await a.map.get('before')).toEqual({ value: 'gpu1', at: during });
    // While the store is down, nothing waits on it.
    const asked = remote.calls.length;
    await a.map.get('before');
    expect(remote.calls.length).toBe(asked);
    expect(a.lines.filter((l) => l.msg.startsWith('state store down'))).toHaveLength(1);
    expect(a.lines.find((l) => l.msg.startsWith('state store down'))).toMatchObject({ level: 40, reason: 'connection refused' });

    clock.advance(5_000);
    remote.fail(false);
    a.health.markUp();
    // The entry written during the outage reaches the store (written back in the background), with the time it was learned.
    await expect.poll(() => remote.data.get('during')).toEqual({ value: 'gpu2', at: during });
    expect(a.lines.filter((l) => l.msg.startsWith('state store answers again'))).toHaveLength(1);
    expect(a.lines.find((l) => l.msg.startsWith('state store answers again'))).toMatchObject({ level: 30 });
    const b = replica(remote.map, clock);
    expect(await b.map.get('during')).toEqual({ value: 'gpu2', at: during });
  });

  it('keeps an entry another replica wrote, so it still knows it during a later outage', async () => {
    const clock = new ManualClock();
    const remote = fakeRemote();
    const a = replica(remote.map, clock);
    const b = replica(remote.map, clock);
    await a.map.set('job', 'gpu3');
    expect((await b.map.get('job'))?.value).toBe('gpu3');
    remote.fail(true);
    expect((await b.map.get('job'))?.value).toBe('gpu3');
  });

  it('a read that finds the store without an entry this replica holds writes it back, with its original time', async () => {
    const clock = new ManualClock();
    const remote = fakeRemote();
    const a = replica(remote.map, clock);
    const b = replica(remote.map, clock);
    const at = clock.now();
    await a.map.set('job', 'gpu1');
    clock.advance(1_000);
    remote.data.clear(); // the store restarted empty, or was flushed
    expect(await b.map.get('job')).toBeUndefined();
    expect(await a.map.get('job')).toEqual({ value: 'gpu1', at });
    await expect.poll(() => remote.data.get('job')).toEqual({ value: 'gpu1', at });
    expect(await b.map.get('job')).toEqual({ value: 'gpu1', at });
    // An expired entry is not written back.
    clock.advance(60_000);
    remote.data.clear();
    expect(await a.map.get('job')).toBeUndefined();
    expect(remote.data.size).toBe(0);
  });

  it('re-asserts every live entry when the store may have lost them: in batches, never replacing a later entry', async () => {
    const clock = new ManualClock();
    const remote = fakeRemote();
    const logger = pino({ level: 'silent' });
    const health = createStoreHealth({ logger, fields: {} });
    health.markUp();
    let lost: () => void = () => {};
    let pauses = 0;
    const map = createSharedMap(
      { name: 'm', maxEntries: 1_000, maxAgeMs: 60_000, now: () => clock.now(), parse: (v) => (typeof v === 'string' ? v : undefined) },
      {
        map: remote.map,
        health,
        onLoss: (listener) => (lost = listener),
        pause: async () => void pauses++,
      },
    );
    await map.set('expired', 'gpu0');
    clock.advance(30_000);
    const count = 2 * REASSERT_BATCH + 10;
    const at = clock.now();
    for (let i = 0; i < count; i++) await map.set(`job-${i}`, 'gpu1');
    clock.advance(30_001); // 'expired' is now past its age
    remote.data.clear();
    // Another replica wrote job-0 since, with a later time: it stays.
    remote.data.set('job-0', { value: 'gpu2', at: clock.now() });
    const calls = remote.calls.length;

    lost();
    lost(); // a second signal while the first runs: one more pass, not two at once
    await expect.poll(() => remote.data.size).toBe(count);
    expect(remote.data.get('job-0')).toEqual({ value: 'gpu2', at: clock.now() });
    expect(remote.data.get(`job-${count - 1}`)).toEqual({ value: 'gpu1', at });
    expect(remote.data.has('expired')).toBe(false);
    await expect.poll(() => remote.calls.length - calls).toBe(2 * count);
    expect(pauses).toBe(2 * Math.floor(count / REASSERT_BATCH));
  });
});
