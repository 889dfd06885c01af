// The wait hub on its own, with a scripted job: one read per interval however many wait, a wait's
// end on a change, at its deadline, on abort and at shutdown, and the per-caller cap. Time is a
// manual clock the tests advance, so every count and every waited_seconds is exact.
import { describe, expect, it } from 'vitest';
import {
  createWaitHub,
  DELIVERY_SLICE,
  FAILED_READS_BEFORE_ERROR,
  maxConcurrentWaitsFor,
  readOpenFilesLimit,
  waitConfigOf,
  type WaitConfig,
  type WaitRequest,
} from '../../src/jobs/waits.ts';
import { BackendError } from '../../src/jobs/backend-error.ts';
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

  it('hands a change to many waiters in slices, a turn of the event loop apart', async () => {
    const { hub, clock } = hubOnManualClock();
    const { job, read } = scriptedJob('running');
    const n = DELIVERY_SLICE * 2 + 200;
    let answered = 0;
    const waits = Array.from({ length: n }, () => hub.wait(request(read, { seconds: 1 })).finally(() => answered++));
    await clock.advance(10);
    job.status = 'succeeded';
    await clock.advance(40); // the read at 50 ms sees the change
    expect(answered).toBeGreaterThan(0);
    expect(answered).toBeLessThan(n); // not all in the turn of the read
    const results = await Promise.all(waits);
    expect(results.every((r) => r.changed && r.report.status === 'succeeded' && r.waitedSeconds === 0.05)).toBe(true);
    expect(job.reads).toBe(2);
    expect(clock.pending()).toEqual([]);
  });

  it('shares one budget per turn between jobs whose reads land together', async () => {
    const { hub, clock } = hubOnManualClock();
    // Every read waits for one answer the test gives: the three jobs' reads end in the same turn.
    let answer: ((status: JobStatus) => void) | undefined;
    let shared: Promise<JobStatusReport> | undefined;
    let reads = 0;
    const read = () => {
      reads++;
      shared ??= new Promise((resolve) => (answer = (status) => resolve({ found: true, status, raw_status: status })));
      return shared;
    };
    const perJob = DELIVERY_SLICE - 5; // each job alone fits in one slice
    let answered = 0;
    const waits = [0, 1, 2].flatMap((k) =>
      Array.from({ length: perJob }, () =>
        hub.wait(request(read, { key: `b\0job-${k}`, known: 'running', seconds: 1 })).finally(() => answered++),
      ),
    );
    expect(reads).toBe(3);
    answer!('succeeded');
    await new Promise((resolve) => setImmediate(resolve)); // the turn the reads ended in, and its promise callbacks
    expect(answered).toBe(DELIVERY_SLICE);
    const results = await Promise.all(waits);
    expect(answered).toBe(3 * perJob);
    expect(results.every((r) => r.changed && r.report.status === 'succeeded')).toBe(true);
    await clock.advance(1000);
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

  it('caps the waits of the whole process, and says when a slot frees at the latest', async () => {
    const clock = new ManualTimers();
    const hub = createWaitHub({ ...config, maxConcurrent: 4 }, clock);
    const held = [hub.take('alice', 30), hub.take('bob', 10), hub.take('carol', 20), hub.take('dave', 0)];
    expect(held.every((s) => 'release' in s)).toBe(true);
    expect(hub.held()).toBe(4);
    // The process is full: anyone is refused, told when the first held wait ends at the latest.
    expect(hub.take('erin', 5)).toEqual({ refused: 'process', retryAfterSeconds: 10 });
    await clock.advance(7500);
    expect(hub.take('erin', 5)).toEqual({ refused: 'process', retryAfterSeconds: 3 });
    // A caller at its own limit is told about its own waits.
    const small = createWaitHub({ ...config, maxPerCaller: 2, maxConcurrent: 100 }, clock);
    small.take('alice', 40);
    small.take('alice', 25);
    expect(small.take('alice', 5)).toEqual({ refused: 'caller', retryAfterSeconds: 25 });
    const unknown = createWaitHub({ ...config, maxPerCaller: 1 }, clock);
    unknown.take('alice');
    expect(unknown.take('alice')).toEqual({ refused: 'caller', retryAfterSeconds: 60 });
    const slot = held[1]!;
    if ('release' in slot) {
      slot.release();
      slot.release(); // twice frees one slot only
    }
    expect(hub.held()).toBe(3);
    expect('release' in hub.take('erin', 5)).toBe(true);
    expect(hub.take('frank', 5)).toMatchObject({ refused: 'process' });
  });

  it('derives the default process limit from the open-files limit', () => {
    expect(maxConcurrentWaitsFor(1024)).toBe(384);
    expect(maxConcurrentWaitsFor(4096)).toBe(1920);
    expect(maxConcurrentWaitsFor(16_384)).toBe(8064);
    expect(maxConcurrentWaitsFor(65_536)).toBe(10_000);
    expect(maxConcurrentWaitsFor(Number.POSITIVE_INFINITY)).toBe(10_000);
    expect(maxConcurrentWaitsFor(256)).toBe(16);
    expect(maxConcurrentWaitsFor(undefined)).toBe(384);
    const limits = (soft: string) => () =>
      [
        'Limit                     Soft Limit           Hard Limit           Units     ',
        'Max processes             127431               127431               processes ',
        `Max open files            ${soft}                 1048576              files     `,
      ].join('\n');
    expect(readOpenFilesLimit(limits('4096'))).toBe(4096);
    expect(readOpenFilesLimit(limits('unlimited'))).toBe(Number.POSITIVE_INFINITY);
    expect(readOpenFilesLimit(limits('x'))).toBeUndefined();
    expect(
      readOpenFilesLimit(() => {
        throw new Error('ENOENT');
      }),
    ).toBeUndefined();
    const waits = { max_seconds: 60, heartbeat_seconds: 5, max_per_caller: 10 };
    expect(waitConfigOf(waits, () => 4096).maxConcurrent).toBe(1920);
    expect(waitConfigOf({ ...waits, max_concurrent: 50 }, () => 4096).maxConcurrent).toBe(50);
  });
});

describe("the wait hub's looks (a task's poll, which holds no request open)", () => {
  const look = { key: 'b\0job', pollIntervalMs: 50 };

  it('reads a job at most once per interval however many look and however fast, one read for looks that overlap it', async () => {
    const { hub, clock } = hubOnManualClock();
    const { job, read } = scriptedJob('running');
    const first = await Promise.all(Array.from({ length: 10 }, () => hub.look({ ...look, read })));
    expect(first.every((l) => 'report' in l && l.report.status === 'running')).toBe(true);
    expect(job.reads).toBe(1);
    await clock.advance(49);
    job.status = 'succeeded';
    expect(await hub.look({ ...look, read })).toMatchObject({ report: { status: 'running' } }); // within the interval
    expect(job.reads).toBe(1);
    await clock.advance(1);
    expect(await hub.look({ ...look, read })).toMatchObject({ report: { status: 'succeeded' } });
    expect(job.reads).toBe(2);
  });

  it("answers from a waiting call's poller when its read is fresh, without a read of its own", async () => {
    const { hub, clock } = hubOnManualClock();
    const { job, read } = scriptedJob('running');
    const waiting = hub.wait(request(read, { seconds: 0.2 }));
    await clock.advance(10);
    expect(job.reads).toBe(1);
    expect(await hub.look({ ...look, read })).toMatchObject({ report: { status: 'running' } });
    expect(job.reads).toBe(1);
    await clock.advance(200);
    await waiting;
  });

  it(`says a failure is final when it will not pass, or after ${FAILED_READS_BEFORE_ERROR} in a row; a read that succeeds starts the count again`, async () => {
    const { hub, clock } = hubOnManualClock();
    let next: Error | JobStatus = new BackendError('BACKEND_UNAVAILABLE', 'The backend answered 502');
    const read = async (): Promise<JobStatusReport> => {
      if (next instanceof Error) throw next;
      return { found: true, status: next, raw_status: next };
    };
    const verdicts: boolean[] = [];
    for (let i = 0; i < FAILED_READS_BEFORE_ERROR; i++) {
      const l = await hub.look({ ...look, read });
      verdicts.push('final' in l && l.final);
      await clock.advance(50);
    }
    expect(verdicts).toEqual([...Array(FAILED_READS_BEFORE_ERROR - 1).fill(false), true]);
    next = 'running';
    expect(await hub.look({ ...look, read })).toMatchObject({ report: { status: 'running' } });
    await clock.advance(50);
    next = new BackendError('BACKEND_UNAVAILABLE', 'The backend answered 502');
    // With the last report a read gave: what a wait that reaches its deadline now answers with.
    expect(await hub.look({ ...look, read })).toMatchObject({ final: false, latest: { status: 'running' } });
    await clock.advance(50);
    next = new BackendError('BACKEND_AUTH', 'The backend refused the credentials');
    expect(await hub.look({ ...look, read })).toMatchObject({ final: true });
  });
});

describe('the wait hub when a read fails', () => {
  /** A job whose next reads the test scripts: a status, or an error to throw. */
  function flakyJob() {
    const job = { next: 'running' as JobStatus | Error, reads: 0 };
    const read = async (): Promise<JobStatusReport> => {
      job.reads++;
      if (job.next instanceof Error) throw job.next;
      return { found: true, status: job.next, raw_status: job.next };
    };
    return { job, read };
  }
  const unavailable = () => new BackendError('BACKEND_UNAVAILABLE', 'The render-farm backend answered 502');

  it('keeps the waiters through failed reads and reads again at the next interval', async () => {
    const { hub, clock } = hubOnManualClock();
    const { job, read } = flakyJob();
    const waits = Array.from({ length: 100 }, () => hub.wait(request(read, { seconds: 1 })));
    await clock.advance(10);
    // A local fault (EMFILE) and a backend failure, one after the other: fewer than the limit in a row.
    job.next = Object.assign(new Error('connect EMFILE'), { code: 'EMFILE' });
    await clock.advance(50);
    job.next = unavailable();
    await clock.advance(50);
    expect(FAILED_READS_BEFORE_ERROR).toBeGreaterThan(2);
    job.next = 'succeeded';
    await clock.advance(50);
    const results = await Promise.all(waits);
    expect(results.every((r) => r.changed && r.report.status === 'succeeded')).toBe(true);
    expect(job.reads).toBe(4);
    expect(clock.pending()).toEqual([]);
  });

  it(`ends the waiters with the error after ${FAILED_READS_BEFORE_ERROR} failed reads in a row`, async () => {
    const { hub, clock } = hubOnManualClock();
    const { job, read } = flakyJob();
    const waits = Array.from({ length: 10 }, () => hub.wait(request(read, { seconds: 5 })));
    const settled = waits.map((w) =>
      w.then(
        () => 'ok',
        (e: unknown) => e,
      ),
    );
    await clock.advance(10);
    job.next = unavailable();
    await clock.advance(50 * (FAILED_READS_BEFORE_ERROR - 1));
    let done = 0;
    for (const s of settled) void s.then(() => done++);
    await clock.advance(0);
    expect(done).toBe(0);
    await clock.advance(50);
    const outcomes = await Promise.all(settled);
    expect(outcomes.every((e) => e instanceof BackendError && e.code === 'BACKEND_UNAVAILABLE')).toBe(true);
    expect(job.reads).toBe(1 + FAILED_READS_BEFORE_ERROR);
    expect(clock.pending()).toEqual([]);
  });

  it('ends the waiters at once on a failure that will not pass', async () => {
    const { hub, clock } = hubOnManualClock();
    const { job, read } = flakyJob();
    const waiting = hub.wait(request(read, { seconds: 5 })).catch((e: unknown) => e);
    await clock.advance(10);
    job.next = new BackendError('BACKEND_AUTH', "The render-farm backend refused the gateway's credentials");
    await clock.advance(50);
    expect(await waiting).toMatchObject({ code: 'BACKEND_AUTH' });
    expect(job.reads).toBe(2);
  });

  it('answers at the deadline during failed reads with the latest report, or with the error when it has none', async () => {
    const { hub, clock } = hubOnManualClock();
    const { job, read } = flakyJob();
    const seen = hub.wait(request(read, { seconds: 0.12 }));
    await clock.advance(10);
    job.next = unavailable();
    await clock.advance(110);
    await expect(seen).resolves.toMatchObject({ changed: false, report: { status: 'running' }, waitedSeconds: 0.12 });
    // A job never read successfully: the deadline passes, and the next failed read is the answer.
    const other = hub.wait(request(read, { key: 'b\0other', seconds: 0.02 }));
    const outcome = other.then(
      () => 'ok',
      (e: unknown) => e,
    );
    await clock.advance(20);
    let answered = false;
    void outcome.then(() => (answered = true));
    await clock.advance(0);
    expect(answered).toBe(false);
    await clock.advance(30);
    expect(await outcome).toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
  });
});
