// Shared reads (src/backends/comfyui/shared-read.ts): one read serves every call waiting at that
// moment, a call never gets the answer of a read that started before it came, and one caller leaving
// does not end the read for the others. Then the same through the adapter on a legacy host's /queue.
import { describe, expect, it } from 'vitest';
import { createSharedReads } from '../../../src/backends/comfyui/shared-read.ts';
import { ctx } from '../../helpers/backend-calls.ts';
import { listQuery } from '../../helpers/list-calls.ts';
import { closeComfyuiAfterEach, oneHost } from '../../helpers/comfyui.ts';

closeComfyuiAfterEach();

/** A backend whose state is a version number; each read answers the version it started at, when the test says. */
function versionedBackend() {
  let version = 0;
  const reads: Array<{ key: string; at: number; signal: AbortSignal; answer: () => void; fail: (e: unknown) => void }> = [];
  const lifetime = new AbortController();
  const shared = createSharedReads<string, number>(
    (key, signal) =>
      new Promise<number>((resolve, reject) => {
        const at = version; // the host's state when the read reached it
        reads.push({ key, at, signal, answer: () => resolve(at), fail: reject });
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      }),
    lifetime.signal,
  );
  return {
    shared,
    reads,
    lifetime,
    change: () => ++version,
  };
}

const flush = () => new Promise<void>((r) => setImmediate(r));

describe('shared reads', () => {
  it('serves every call waiting at one moment with one read, and keeps nothing after', async () => {
    const b = versionedBackend();
    const first = b.shared.read('q', ctx().signal);
    const rest = Array.from({ length: 39 }, () => b.shared.read('q', ctx().signal));
    expect(b.reads).toHaveLength(1); // the 39 that came while read 1 ran wait for the next one
    b.reads[0]!.answer();
    expect(await first).toBe(0);
    await flush();
    expect(b.reads).toHaveLength(2);
    b.reads[1]!.answer();
    expect(await Promise.all(rest)).toEqual(Array(39).fill(0));
    expect(b.shared.started).toBe(2);
    expect(b.shared.keys).toBe(0);
    // Nothing is kept: the next call starts a read of its own.
    const later = b.shared.read('q', ctx().signal);
    expect(b.reads).toHaveLength(3);
    b.reads[2]!.answer();
    await later;
  });

  it('never answers a call with a read that started before the call came', async () => {
    const b = versionedBackend();
    const before = b.shared.read('q', ctx().signal);
    const v = b.change(); // e.g. a job submitted, or dequeued by this gateway's cancel
    const after = b.shared.read('q', ctx().signal);
    b.reads[0]!.answer();
    expect(await before).toBe(0);
    await flush();
    b.reads[1]!.answer();
    expect(await after).toBeGreaterThanOrEqual(v);
  });

  it('keeps one read per key, and keys apart', async () => {
    const b = versionedBackend();
    const a = b.shared.read('a', ctx().signal);
    const c = b.shared.read('c', ctx().signal);
    expect(b.reads.map((r) => r.key)).toEqual(['a', 'c']);
    for (const r of b.reads) r.answer();
    await Promise.all([a, c]);
    expect(b.shared.keys).toBe(0);
  });

  it('one caller leaving ends its wait only; the last one leaving ends the read', async () => {
    const b = versionedBackend();
    const leaving = new AbortController();
    const gone = b.shared.read('q', leaving.signal);
    const staying = b.shared.read('q', ctx().signal); // waits for read 2
    const alsoLeaving = new AbortController();
    const gone2 = b.shared.read('q', alsoLeaving.signal); // also read 2
    leaving.abort(new Error('caller left'));
    await expect(gone).rejects.toThrow('caller left');
    // Read 1 had no other caller: it is aborted, and read 2 starts at once.
    expect(b.reads[0]!.signal.aborted).toBe(true);
    await flush();
    expect(b.reads).toHaveLength(2);
    alsoLeaving.abort(new Error('second caller left'));
    await expect(gone2).rejects.toThrow('second caller left');
    expect(b.reads[1]!.signal.aborted).toBe(false); // `staying` still waits for it
    b.reads[1]!.answer();
    expect(await staying).toBe(0);
  });

  it('drops a read waiting to start when all its callers left', async () => {
    const b = versionedBackend();
    const first = b.shared.read('q', ctx().signal);
    const leaving = new AbortController();
    const gone = b.shared.read('q', leaving.signal);
    leaving.abort(new Error('left'));
    await expect(gone).rejects.toThrow('left');
    b.reads[0]!.answer();
    await first;
    await flush();
    expect(b.reads).toHaveLength(1);
    expect(b.shared.keys).toBe(0);
  });

  it('gives every caller of a failed read its error, and does not keep the failure', async () => {
    const b = versionedBackend();
    const calls = [b.shared.read('q', ctx().signal), b.shared.read('q', ctx().signal)];
    b.reads[0]!.fail(new Error('host down'));
    await expect(calls[0]).rejects.toThrow('host down');
    await flush();
    b.reads[1]!.fail(new Error('still down'));
    await expect(calls[1]).rejects.toThrow('still down');
    const again = b.shared.read('q', ctx().signal);
    b.reads[2]!.answer();
    expect(await again).toBe(0);
  });

  it('aborts reads in flight when the owner closes', async () => {
    const b = versionedBackend();
    const call = b.shared.read('q', ctx().signal);
    b.lifetime.abort(new Error('closed'));
    await expect(call).rejects.toThrow('closed');
  });
});

describe('ComfyUI legacy host: concurrent reads share /queue', () => {
  it('answers 40 concurrent reads with at most two /queue requests, each correctly', async () => {
    const { sim: s, backend } = await oneHost('legacy', {}, 'legacy');
    let release!: () => void;
    s.server.setFault({ kind: 'hold', until: new Promise<void>((r) => (release = r)) }, (r) => r.path === '/queue');
    const ids = [...s.seeds.queued, ...s.seeds.running, ...s.seeds.succeeded];
    const calls = Array.from({ length: 40 }, (_, i) => backend.getStatus(ids[i % ids.length]!, ctx()));
    // Wait until the first /queue read is open at the host, then let it answer.
    while (s.server.openRequests() === 0) await flush();
    release();
    const reports = await Promise.all(calls);
    reports.forEach((r, i) => {
      const id = ids[i % ids.length]!;
      const status = s.seeds.running.includes(id) ? 'running' : s.seeds.succeeded.includes(id) ? 'succeeded' : 'queued';
      expect(r).toMatchObject({ found: true, status });
    });
    expect(s.server.requests.filter((r) => r.path === '/queue')).toHaveLength(2);
    // A finished job's history is read by the calls after their /queue read: shared likewise.
    for (const id of s.seeds.succeeded) expect(s.server.requests.filter((r) => r.path === `/history/${id}`).length).toBeLessThanOrEqual(2);
  });

  it('answers 40 concurrent listings with at most two /history requests, each listing the same jobs', async () => {
    const { sim: s, backend } = await oneHost('legacy', {}, 'legacy');
    const alone = await backend.list(listQuery({ limit: 100 }));
    const before = s.server.requests.filter((r) => r.path === '/history').length;
    let release!: () => void;
    s.server.setFault({ kind: 'hold', until: new Promise<void>((r) => (release = r)) }, (r) => r.path === '/history');
    const calls = Array.from({ length: 40 }, () => backend.list(listQuery({ limit: 100 })));
    while (s.server.openRequests() === 0) await flush();
    release();
    const pages = await Promise.all(calls);
    for (const page of pages) expect(page).toEqual(alone);
    expect(s.server.requests.filter((r) => r.path === '/history').length - before).toBeLessThanOrEqual(2);
    expect(alone.jobs.some((j) => j.status === 'succeeded')).toBe(true); // the listing did reach history
  });

  it('a caller that leaves does not abort the read the others wait for', async () => {
    const { sim: s, backend } = await oneHost('legacy', {}, 'legacy');
    let release!: () => void;
    s.server.setFault({ kind: 'hold', until: new Promise<void>((r) => (release = r)) }, (r) => r.path === '/queue');
    const id = s.seeds.running[0]!;
    const first = backend.getStatus(id, ctx());
    while (s.server.openRequests() === 0) await flush();
    // These two came while read 1 was open: both wait for read 2, and one of them leaves.
    const leaving = new AbortController();
    const gone = backend.getStatus(id, { signal: leaving.signal });
    const staying = backend.getStatus(id, ctx());
    leaving.abort(new Error('caller left'));
    await expect(gone).rejects.toThrow('caller left');
    release();
    expect(await first).toMatchObject({ found: true, status: 'running' });
    expect(await staying).toMatchObject({ found: true, status: 'running' });
    expect(s.server.requests.filter((r) => r.path === '/queue')).toHaveLength(2);
  });
});
