// This process's live sets (store: memory, and a Redis store while it fails): a key holds at most
// `max` live members, a member stops counting at its end or when removed, and a refusal says when
// the first live member ends. The Redis copy is run against a real server in test/e2e/shared-state.test.ts.
import { describe, expect, it } from 'vitest';
import { createLocalLiveSet } from '../../src/state/live-set.ts';

describe('live set (this process)', () => {
  it('holds at most max live members a key, says when the first ends, and counts keys apart', async () => {
    let now = 1000;
    const set = createLocalLiveSet(() => now);
    expect(await set.add('alice', 't1', 5000, 2)).toEqual({ added: true });
    expect(await set.add('alice', 't2', 3000, 2)).toEqual({ added: true });
    expect(await set.add('alice', 't3', 9000, 2)).toEqual({ added: false, freesAt: 3000 });
    expect(await set.add('bob', 't4', 9000, 2)).toEqual({ added: true });
    await set.remove('alice', 't1');
    expect(await set.add('alice', 't3', 9000, 2)).toEqual({ added: true });
    now = 3000; // t2 ends now: it counts no more
    expect(await set.add('alice', 't5', 8000, 2)).toEqual({ added: true });
    expect(await set.add('alice', 't6', 9000, 2)).toEqual({ added: false, freesAt: 8000 });
    await set.remove('alice', 'never-added'); // nothing to remove: no harm
    now = 9000; // t3 and t5 have ended
    expect(await set.add('alice', 't6', 12_000, 1)).toEqual({ added: true });
  });

  it('forgets the ended members of keys no one adds to again (a caller that never comes back)', async () => {
    let now = 0;
    const set = createLocalLiveSet(() => now);
    for (let i = 0; i < 500; i++) await set.add(`caller-${i}`, 'task', 100, 10);
    expect(set.keys()).toBe(500);
    now = 200; // every one of them has ended
    // Adds by one other caller reach a sweep: the ended callers' sets are gone.
    for (let i = 0; i < 500; i++) await set.add('busy', `t${i}`, 300, 2000);
    expect(set.keys()).toBe(1);
  });
});
