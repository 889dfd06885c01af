// The wait hub on its own, with a scripted job: one read per interval however many wait, a wait's
// end on a change, at its deadline, on abort and at shutdown, and the per-caller cap. Time is a
// manual clock the tests advance, so every count and every waited_seconds is exact.
import { describe, expect, it } from 'vitest';
import { createWaitHub, type WaitConfig, type WaitRequest } from '../../src/jobs/waits.ts';
import type { JobStatus, JobStatusReport } from '../../src/jobs/model.ts';
import { ManualTimers } from '../helpers/manual-timers.ts';

const config: WaitConfig = {
  maxSeconds: 60,
  heartbeatSeconds: 0.02,
  maxPerCaller: 3,
};

/** A job whose status the test sets, counting the reads. */
function scriptedJob(status: JobStatus = 'running') {
  const job = { status, reads: 0, signals: [] as AbortSignal[] };
  const read = async (signal: AbortSignal): Promise<JobStatusReport> => {
    job.reads++;
    job.signals.push(signal);
    return { found: true, status: job.status, raw_status: job.status };
  };
  return { job, read };
}

function request(read: WaitRequest['read'], overrides: Partial<WaitRequest> = {}): WaitRequest {
  return { key: 'b\0job', pollIntervalMs: 50, read, until: 'change', seconds: 5, signal: new AbortController().signal, ...overrides };
}

/** A hub on a manual clock: `clock.advance(ms)` is the time that passes. */
function hubOnManualClock() {
  const clock = new ManualTimers();
  return { hub: createWaitHub(config, clock), clock };
}

describe('the wait hub', () => {
  it('answers as soon as the status differs from the one first seen', async () => {
    const { hub, clock } = hubOnManualClock();
    const { job, read } = scriptedJob('queued');
    const waiting = hub.wait(request(read));
    await clock.advance(120);
    job.status = 'running';
    await clock.advance(50); // the read at 150 ms sees the change
    const result = await waiting;
    expect(result.report.status).toBe('running');
    expect(result.changed).toBe(true);
    expect(result.waitedSeconds).toBeGreaterThan(0.1);
    expect(result.waitedSeconds).toBeLessThan(1);
    expect(result.waitedSeconds).toBe(0.15);
    expect(job.reads).toBe(4);
  });

  it('answers at once when the status already differs from known_status', async () => {
    const { hub } = hubOnManualClock();
    const { read } = scriptedJob('running');
    const result = await hub.wait(request(read, { known: 'queued' }));
    expect(result).toMatchObject({ changed: true, report: { status: 'running' } });
  });

  it('answers at the deadline with the current status and changed=false', async () => {
    const { hub, clock } = hubOnManualClock();
    const { read } = scriptedJob('running');
    const waiting = hub.wait(request(read, { seconds: 0.2 }));
    await clock.advance(199);
    let answered = false;
    void waiting.then(() => (answered = true));
    await clock.advance(0);
    expect(answered).toBe(false);
    await clock.advance(1);
    const result = await waiting;
    expect(result).toMatchObject({ changed: false, report: { status: 'running' } });
    expect(result.waitedSeconds).toBeGreaterThanOrEqual(0.19);
    expect(result.waitedSeconds).toBe(0.2);
  });

  it('waits for terminal, not just a change, when confirming a cancel', async () => {
    const { hub, clock } = hubOnManualClock();
    const { job, read } = scriptedJob('running');
    const waiting = hub.wait(request(read, { until: 'terminal', seconds: 2 }));
    job.status = 'unknown';
    await clock.advance(100); // two reads see 'unknown': a change, yet not the end of this wait
    job.status = 'cancelled';
    await clock.advance(50);
    expect((await waiting).report.status).toBe('cancelled');
  });

  it('reads a job once per interval however many wait on it, and stops reading when they are gone', async () => {
    const { hub, clock } = hubOnManualClock();
    const { job, read } = scriptedJob('running');
    const waits = Array.from({ length: 20 }, () => hub.wait(request(read, { seconds: 0.3 })));
    await clock.advance(300);
    const results = await Promise.all(waits);
    expect(results.every((r) => !r.changed)).toBe(true);
    // 0.3 s at one read per 0.05 s, never one per waiter: reads at 0, 50, ... 250 ms; the deadlines
    // at 300 ms fall before the read due then (they were set first).
    expect(job.reads).toBeGreaterThanOrEqual(4);
    expect(job.reads).toBeLessThanOrEqual(8);
    expect(job.reads).toBe(6);
    const after = job.reads;
    await clock.advance(150);
    expect(job.reads).toBe(after);
    expect(clock.pending()).toEqual([]);
  });

  it('ends a wait at once when its call is aborted, and reads no more', async () => {
    const { hub, clock } = hubOnManualClock();
    const { job, read } = scriptedJob('running');
    const abort = new AbortController();
    const waiting = hub.wait(request(read, { signal: abort.signal }));
    await clock.advance(80);
    abort.abort(new Error('client went away'));
    await expect(waiting).rejects.toThrow('client went away');
    expect(job.signals.at(-1)!.aborted).toBe(true);
    const reads = job.reads;
    await clock.advance(150);
    expect(job.reads).toBe(reads);
    expect(clock.pending()).toEqual([]);
  });

  it('ends only the aborted wait: the job is read for the others until they end', async () => {
    const { hub, clock } = hubOnManualClock();
    const { job, read } = scriptedJob('running');
    const abort = new AbortController();
    const other = hub.wait(request(read, { seconds: 1 }));
    const waiting = hub.wait(request(read, { signal: abort.signal }));
    await clock.advance(80);
    abort.abort(new Error('client went away'));
    await expect(waiting).rejects.toThrow('client went away');
    expect(job.signals.at(-1)!.aborted).toBe(false);
    const reads = job.reads;
    await clock.advance(100);
    expect(job.reads).toBe(reads + 2);
    await clock.advance(1000 - 180);
    await expect(other).resolves.toMatchObject({ changed: false, waitedSeconds: 1 });
    expect(job.signals.at(-1)!.aborted).toBe(true);
    expect(clock.pending()).toEqual([]);
  });

  it('ends every wait on a job at its change, with one read for all', async () => {
    const { hub, clock } = hubOnManualClock();
    const { job, read } = scriptedJob('running');
    const waits = Array.from({ length: 5 }, () => hub.wait(request(read)));
    await clock.advance(100);
    job.status = 'succeeded';
    await clock.advance(50);
    const results = await Promise.all(waits);
    expect(results.map((r) => [r.report.status, r.changed, r.waitedSeconds])).toEqual(Array(5).fill(['succeeded', true, 0.15]));
    expect(job.reads).toBe(4);
    expect(clock.pending()).toEqual([]);
  });

  it('starts the next read when a slower one ends, never two at once', async () => {
    const { hub, clock } = hubOnManualClock();
    let reads = 0;
    let answer: (() => void) | undefined;
    const read = () =>
      new Promise<JobStatusReport>((resolve) => {
        reads++;
        answer = () => resolve({ found: true, status: 'running', raw_status: 'running' });
      });
    const waiting = hub.wait(request(read, { seconds: 1 }));
    expect(reads).toBe(1);
    await clock.advance(120); // the interval ends while the first read is still out
    expect(reads).toBe(1);
    answer!();
    await clock.advance(0);
    expect(reads).toBe(2); // at once, then one interval from its own start
    answer!();
    await clock.advance(49);
    expect(reads).toBe(2);
    await clock.advance(1);
    expect(reads).toBe(3);
    answer!();
    await clock.advance(1000);
    await expect(waiting).resolves.toMatchObject({ changed: false, waitedSeconds: 1 });
  });

  it('ends every wait with the latest status at shutdown, and refuses new ones', async () => {
    const { hub, clock } = hubOnManualClock();
    const { read } = scriptedJob('running');
    const waiting = hub.wait(request(read, { seconds: 30 }));
    const other = hub.wait(request(read, { key: 'b\0other', seconds: 30 }));
    await clock.advance(30);
    hub.close();
    await expect(waiting).resolves.toMatchObject({ changed: false, report: { status: 'running' }, waitedSeconds: 0.03 });
    await expect(other).resolves.toMatchObject({ changed: false, report: { status: 'running' } });
    expect(clock.pending()).toEqual([]);
    await expect(hub.wait(request(read))).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
  });

  it('sends heartbeats while it waits', async () => {
    const { hub, clock } = hubOnManualClock();
    const { read } = scriptedJob('running');
    const beats: number[] = [];
    const waiting = hub.wait(request(read, { seconds: 0.2, onHeartbeat: (b) => beats.push(b.waitedSeconds) }));
    await clock.advance(200);
    await waiting;
    expect(beats.length).toBeGreaterThanOrEqual(3);
    expect([...beats].sort((a, b) => a - b)).toEqual(beats);
    // One per heartbeat interval (0.02 s); the deadline at 0.2 s comes before the beat due then.
    expect(beats).toEqual([0.02, 0.04, 0.06, 0.08, 0.1, 0.12, 0.14, 0.16, 0.18]);
  });

  it('caps concurrent waits per caller and clamps long waits', () => {
    const { hub } = hubOnManualClock();
    const releases = [hub.enter('alice'), hub.enter('alice'), hub.enter('alice')];
    expect(releases.every(Boolean)).toBe(true);
    expect(hub.enter('alice')).toBeUndefined();
    expect(hub.enter('bob')).toBeDefined();
    releases[0]!();
    releases[0]!(); // releasing twice frees one slot only
    expect(hub.enter('alice')).toBeDefined();
    expect(hub.enter('alice')).toBeUndefined();
    expect(hub.clamp(600)).toBe(60);
    expect(hub.clamp(2.5)).toBe(2.5);
  });
});
