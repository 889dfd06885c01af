// The wait hub on its own, with a scripted job: one read per interval however many wait, a wait's
// end on a change, at its deadline, on abort and at shutdown, and the per-caller cap.
import { describe, expect, it } from 'vitest';
import { createWaitHub, type WaitConfig, type WaitRequest } from '../../src/jobs/waits.ts';
import type { JobStatus, JobStatusReport } from '../../src/jobs/model.ts';

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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the wait hub', () => {
  it('answers as soon as the status differs from the one first seen', async () => {
    const hub = createWaitHub(config);
    const { job, read } = scriptedJob('queued');
    const waiting = hub.wait(request(read));
    await sleep(120);
    job.status = 'running';
    const result = await waiting;
    expect(result.report.status).toBe('running');
    expect(result.changed).toBe(true);
    expect(result.waitedSeconds).toBeGreaterThan(0.1);
    expect(result.waitedSeconds).toBeLessThan(1);
  });

  it('answers at once when the status already differs from known_status', async () => {
    const hub = createWaitHub(config);
    const { read } = scriptedJob('running');
    const result = await hub.wait(request(read, { known: 'queued' }));
    expect(result).toMatchObject({ changed: true, report: { status: 'running' } });
  });

  it('answers at the deadline with the current status and changed=false', async () => {
    const hub = createWaitHub(config);
    const { read } = scriptedJob('running');
    const result = await hub.wait(request(read, { seconds: 0.2 }));
    expect(result).toMatchObject({ changed: false, report: { status: 'running' } });
    expect(result.waitedSeconds).toBeGreaterThanOrEqual(0.19);
  });

  it('waits for terminal, not just a change, when confirming a cancel', async () => {
    const hub = createWaitHub(config);
    const { job, read } = scriptedJob('running');
    const waiting = hub.wait(request(read, { until: 'terminal', seconds: 2 }));
    job.status = 'unknown';
    await sleep(100);
    job.status = 'cancelled';
    expect((await waiting).report.status).toBe('cancelled');
  });

  it('reads a job once per interval however many wait on it, and stops reading when they are gone', async () => {
    const hub = createWaitHub(config);
    const { job, read } = scriptedJob('running');
    const waits = Array.from({ length: 20 }, () => hub.wait(request(read, { seconds: 0.3 })));
    const results = await Promise.all(waits);
    expect(results.every((r) => !r.changed)).toBe(true);
    // 0.3 s at one read per 0.05 s: about 7 reads, never one per waiter.
    expect(job.reads).toBeGreaterThanOrEqual(4);
    expect(job.reads).toBeLessThanOrEqual(8);
    const after = job.reads;
    await sleep(150);
    expect(job.reads).toBe(after);
  });

  it('ends a wait at once when its call is aborted, and reads no more', async () => {
    const hub = createWaitHub(config);
    const { job, read } = scriptedJob('running');
    const abort = new AbortController();
    const waiting = hub.wait(request(read, { signal: abort.signal }));
    await sleep(80);
    abort.abort(new Error('client went away'));
    await expect(waiting).rejects.toThrow('client went away');
    expect(job.signals.at(-1)!.aborted).toBe(true);
    const reads = job.reads;
    await sleep(150);
    expect(job.reads).toBe(reads);
  });

  it('ends every wait with the latest status at shutdown, and refuses new ones', async () => {
    const hub = createWaitHub(config);
    const { read } = scriptedJob('running');
    const waiting = hub.wait(request(read, { seconds: 30 }));
    await sleep(30);
    hub.close();
    await expect(waiting).resolves.toMatchObject({ changed: false, report: { status: 'running' } });
    await expect(hub.wait(request(read))).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
  });

  it('sends heartbeats while it waits', async () => {
    const hub = createWaitHub(config);
    const { read } = scriptedJob('running');
    const beats: number[] = [];
    await hub.wait(request(read, { seconds: 0.2, onHeartbeat: (b) => beats.push(b.waitedSeconds) }));
    expect(beats.length).toBeGreaterThanOrEqual(3);
    expect([...beats].sort((a, b) => a - b)).toEqual(beats);
  });

  it('caps concurrent waits per caller and clamps long waits', () => {
    const hub = createWaitHub(config);
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
