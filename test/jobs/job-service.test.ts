// The job service (get_job_status, cancel_job, list_jobs) on its own, against fake backends and a
// manual clock: what a caller of the tools notices (results, error codes and sentences, waits,
// confirmed cancels, cursors) and which calls the backend got. No HTTP, no sleeps.
//
// First, over a backend that hands out the very same report object on every read, as an
// adapter does while a job's answer is unchanged (backends/http/answer-memo.ts). Whatever in a result
// depends on the call (the name the caller used, who calls, whether and how long it waited, which
// project's backend answered) must be the call's own, never carried over from the call before.
import { describe, expect, it } from 'vitest';
import type { JobBackend } from '../../src/jobs/backend.ts';
import type { Caller } from '../../src/jobs/caller.ts';
import { createJobService, type CancelArgs, type JobService, type JobStatusResult, type StatusArgs } from '../../src/jobs/job-service.ts';
import type { CancelReport, JobStatus, JobStatusReport } from '../../src/jobs/model.ts';
import { createProjectRegistry } from '../../src/jobs/registry.ts';
import type { BackendFailure, Reply, ServiceCallContext } from '../../src/jobs/replies.ts';
import { createWaitHub, FAILED_READS_BEFORE_ERROR } from '../../src/jobs/waits.ts';
import { ManualTimers } from '../helpers/manual-timers.ts';
import { HANG, ScriptedBackend, report } from '../helpers/scripted-backend.ts';
import { BackendError } from '../../src/jobs/backend-error.ts';
import type { ListArgs, ListJobsResult } from '../../src/jobs/list-jobs.ts';
import { badPosition } from '../../src/jobs/listing.ts';

const JOB = 'job-1';

/** A backend that answers `reports` in turn (the last one from then on), each time the same object. */
function sharingBackend(name: string, reports: readonly JobStatusReport[]): JobBackend & { reads: number } {
  const backend = {
    kind: 'fake',
    name,
    reads: 0,
    validateJobId: () => null,
    getStatus: () => Promise.resolve(reports[Math.min(backend.reads++, reports.length - 1)]!),
    cancel: () => Promise.reject(new Error('not used')),
    list: () => Promise.reject(new Error('not used')),
  };
  return backend;
}

const running: JobStatusReport = Object.freeze({ found: true, status: 'running', raw_status: 'RUNNING' });
const done: JobStatusReport = Object.freeze({ found: true, status: 'succeeded', raw_status: 'COMPLETED' });

function serviceOver(...projects: { reference: string; aliases?: string[]; backend: JobBackend }[]): JobService & { clock: ManualTimers } {
  const registry = createProjectRegistry(projects.map((p) => ({ aliases: [], pollIntervalMs: 1, ...p })));
  const clock = new ManualTimers();
  const service = createJobService(
    registry,
    {},
    { waits: createWaitHub({ maxSeconds: 60, heartbeatSeconds: 60, maxPerCaller: 10 }, clock), now: () => clock.now() },
  );
  return Object.assign(service, { clock });
}

const call = (caller?: Caller) => ({ signal: new AbortController().signal, caller });

function valueOf(reply: Reply<JobStatusResult>): JobStatusResult {
  if (!reply.ok) throw new Error(`expected a result, got ${JSON.stringify(reply.error)}`);
  return reply.value;
}

describe('job service over reports shared between calls', () => {
  it('makes a result of its own for every call: changing one changes no other', async () => {
    const service = serviceOver({ reference: 'renders', aliases: ['7d3f'], backend: sharingBackend('render-farm', [running]) });
    const first = valueOf(await service.getJobStatus({ project_reference: '7d3f', job_id: JOB }, call()));
    const second = valueOf(await service.getJobStatus({ project_reference: 'renders', job_id: JOB }, call()));
    expect(first).not.toBe(second);
    expect(first).toEqual(second);
    expect(first).toMatchObject({ project_reference: 'renders', backend: { name: 'render-farm', kind: 'fake' }, status: 'running' });
    (first as { status: string }).status = 'edited by a holder';
    const third = valueOf(await service.getJobStatus({ project_reference: 'renders', job_id: JOB }, call()));
    expect(third.status).toBe('running');
  });

  it("answers a caller who may not use the project UNKNOWN_PROJECT, though another caller's read of the job came just before", async () => {
    const service = serviceOver({ reference: 'renders', backend: sharingBackend('render-farm', [running]) });
    const who = (key: string, allowed: boolean): Caller => ({
      key,
      identity: { issuer: 'https://idp.example', subject: key, clientId: undefined },
      mayUse: () => allowed,
    });
    expect(valueOf(await service.getJobStatus({ project_reference: 'renders', job_id: JOB }, call(who('owner', true)))).status).toBe(
      'running',
    );
    const refused = await service.getJobStatus({ project_reference: 'renders', job_id: JOB }, call(who('stranger', false)));
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.error.code).toBe('UNKNOWN_PROJECT');
  });

  it('gives waited_seconds and changed only to the call that waited', async () => {
    const backend = sharingBackend('render-farm', [running, done]);
    const service = serviceOver({ reference: 'renders', backend });
    const waiting = service.getJobStatus({ project_reference: 'renders', job_id: JOB, wait_seconds: 30, known_status: 'running' }, call());
    await service.clock.advance(1); // the second read answers `done`
    const waited = valueOf(await waiting);
    expect(waited).toMatchObject({ status: 'succeeded', terminal: true, changed: true });
    expect(waited.waited_seconds).toBe(0);
    // The next read hands out the same report object the wait ended with.
    const plain = valueOf(await service.getJobStatus({ project_reference: 'renders', job_id: JOB }, call()));
    expect(plain).toMatchObject({ status: 'succeeded', terminal: true });
    expect(plain).not.toHaveProperty('changed');
    expect(plain).not.toHaveProperty('waited_seconds');
  });

  it("names each project's own backend when two projects' backends hand out one report", async () => {
    const service = serviceOver(
      { reference: 'studio-a', backend: sharingBackend('gpu-a', [running]) },
      { reference: 'studio-b', backend: sharingBackend('gpu-b', [running]) },
    );
    const a = valueOf(await service.getJobStatus({ project_reference: 'studio-a', job_id: JOB }, call()));
    const b = valueOf(await service.getJobStatus({ project_reference: 'studio-b', job_id: JOB }, call()));
    expect(a).toMatchObject({ project_reference: 'studio-a', backend: { name: 'gpu-a' } });
    expect(b).toMatchObject({ project_reference: 'studio-b', backend: { name: 'gpu-b' } });
  });
});

// --- the job service against a scripted backend ------------------------------------------------------
// What a caller of the three tools notices, checked on the service's replies and on the calls the
// backend got. Time is a manual clock: reads every 2 s, heartbeats every 5 s, waits of at most 60 s,
// at most 2 waits per caller.

const POLL_MS = 2000;

function gateway(options: { withProjects?: boolean; maxConcurrent?: number } = {}) {
  const clock = new ManualTimers();
  const backend = new ScriptedBackend('render-farm');
  const other = new ScriptedBackend('gpu-b');
  const registry = createProjectRegistry(
    options.withProjects === false
      ? []
      : [
          { reference: 'renders', aliases: ['7d3f', 'render-studio'], backend, pollIntervalMs: POLL_MS },
          { reference: 'studio-b', aliases: [], backend: other, pollIntervalMs: POLL_MS },
        ],
  );
  const backendErrors: BackendFailure[] = [];
  const internalErrors: unknown[] = [];
  const service = createJobService(
    registry,
    { onBackendError: (f) => backendErrors.push(f), onInternalError: (e) => internalErrors.push(e) },
    {
      waits: createWaitHub({ maxSeconds: 60, heartbeatSeconds: 5, maxPerCaller: 2, maxConcurrent: options.maxConcurrent }, clock),
      now: () => clock.now(),
    },
  );
  return { service, clock, backend, other, backendErrors, internalErrors };
}

function caller(key: string, mayUse: Caller['mayUse'] = () => true): Caller {
  return { key, identity: { issuer: 'https://idp.example', subject: key, clientId: undefined }, mayUse };
}

function context(over: Partial<ServiceCallContext> = {}): ServiceCallContext {
  return { signal: new AbortController().signal, requestId: 'req-1', ...over };
}

function ok<T>(reply: Reply<T>): T {
  if (!reply.ok) throw new Error(`expected a result, got ${JSON.stringify(reply)}`);
  return reply.value;
}

function failed(reply: Reply<unknown>): Exclude<Reply<unknown>, { ok: true }> {
  if (reply.ok) throw new Error(`expected a tool error, got ${JSON.stringify(reply.value)}`);
  return reply;
}

/** Whether a promise has settled, readable after the clock moved. */
function watch<T>(p: Promise<T>): { readonly settled: boolean; promise: Promise<T> } {
  const w = { settled: false, promise: p };
  p.then(
    () => (w.settled = true),
    () => (w.settled = true),
  );
  return w;
}

const RENDERS = { project_reference: 'renders', backend: { name: 'render-farm', kind: 'fake' } };
const requested = (before: JobStatus = 'running'): CancelReport => ({
  outcome: 'cancel_requested',
  status_before: before,
  status_after: before,
  message: 'The job was asked to stop',
});

describe('job service: project resolution', () => {
  it('answers by the reference or any alias, always naming the canonical reference, the backend and the job id as given', async () => {
    const { service, backend } = gateway();
    backend.onStatus('job-1', 'running');
    for (const name of ['renders', '7d3f', 'render-studio']) {
      const value = ok(await service.getJobStatus({ project_reference: name, job_id: 'job-1' }, context()));
      expect(value).toMatchObject({ ...RENDERS, job_id: 'job-1', status: 'running' });
    }
    expect(backend.calls).toEqual(Array(3).fill({ op: 'getStatus', jobId: 'job-1' }));
  });

  it('answers UNKNOWN_PROJECT for a name that is no project, naming no project, without calling any backend', async () => {
    const { service, backend, other } = gateway();
    const long = 'x'.repeat(200);
    const replies = [
      await service.getJobStatus({ project_reference: 'Renders', job_id: 'job-1' }, context()),
      await service.getJobStatus({ project_reference: long, job_id: 'job-1', wait_seconds: 30 }, context()),
      await service.cancelJob({ project_reference: 'render', job_id: 'job-1', wait_seconds: 30 }, context()),
      await service.listJobs({ project_reference: 'studio', status: ['running'] }, context()),
    ];
    for (const reply of replies) {
      const { error, ...where } = failed(reply);
      expect(error.code).toBe('UNKNOWN_PROJECT');
      expect(where).toEqual({ ok: false }); // no project, backend or job named
      expect(error.message).not.toMatch(/render-farm|gpu-b|studio-b|7d3f|render-studio/);
      expect(error).not.toHaveProperty('request_id');
    }
    expect(failed(replies[0]!).error.message).toContain('"Renders"');
    // A name is echoed up to 64 characters.
    expect(failed(replies[1]!).error.message).toContain(`"${'x'.repeat(64)}…"`);
    expect(failed(replies[1]!).error.message).not.toContain('x'.repeat(65));
    expect([...backend.calls, ...other.calls]).toEqual([]);
  });

  it('answers a caller who may not use a project exactly as if it did not exist, for every tool, without calling the backend', async () => {
    const { service, backend, clock } = gateway();
    const nowhere = gateway({ withProjects: false }).service;
    backend.onStatus('job-1', 'running').onCancel('job-1', requested());
    const stranger = caller('stranger', () => false);
    const calls = [
      (s: JobService) => s.getJobStatus({ project_reference: 'renders', job_id: 'job-1' }, context({ caller: stranger })),
      (s: JobService) => s.getJobStatus({ project_reference: '7d3f', job_id: 'job-1', wait_seconds: 10 }, context({ caller: stranger })),
      (s: JobService) => s.cancelJob({ project_reference: 'renders', job_id: 'job-1', reason: 'mine now' }, context({ caller: stranger })),
      (s: JobService) => s.listJobs({ project_reference: 'renders' }, context({ caller: stranger })),
      // An id the backend cannot have is not checked for a project the caller may not see.
      (s: JobService) => s.getJobStatus({ project_reference: 'renders', job_id: '../x' }, context({ caller: stranger })),
    ];
    for (const run of calls) {
      const reply = await run(service);
      expect(failed(reply).error.code).toBe('UNKNOWN_PROJECT');
      expect(reply).toEqual(await run(nowhere));
    }
    expect(backend.calls).toEqual([]);
    expect(clock.pending()).toEqual([]);
  });

  it('asks the caller about the project by its names, so a caller allowed the project may use any alias', async () => {
    const { service, backend } = gateway();
    backend.onStatus('job-1', 'queued');
    const asked: unknown[] = [];
    const member = caller('member', (p) => {
      asked.push({ reference: p.reference, aliases: [...p.aliases] });
      return p.reference === 'renders';
    });
    const value = ok(await service.getJobStatus({ project_reference: 'render-studio', job_id: 'job-1' }, context({ caller: member })));
    expect(value).toMatchObject({ ...RENDERS, status: 'queued' });
    expect(asked).toEqual([{ reference: 'renders', aliases: ['7d3f', 'render-studio'] }]);
    const refused = await service.getJobStatus({ project_reference: 'studio-b', job_id: 'job-1' }, context({ caller: member }));
    expect(failed(refused).error.code).toBe('UNKNOWN_PROJECT');
  });

  it('refuses a job id the backend cannot have with INVALID_ARGUMENT, before any backend call, wait or cancel', async () => {
    const { service, backend, clock, backendErrors } = gateway();
    const bad = ['', '../x', 'job-1/../../admin', 'job-1%2Fx', 'JOB-1', `job-${'1'.repeat(10_000)}`];
    for (const job_id of bad) {
      const replies = [
        await service.getJobStatus({ project_reference: '7d3f', job_id }, context()),
        await service.getJobStatus({ project_reference: '7d3f', job_id, wait_seconds: 30 }, context()),
        await service.cancelJob({ project_reference: '7d3f', job_id, reason: 'stop', wait_seconds: 30 }, context()),
      ];
      for (const reply of replies) {
        const { error, ...where } = failed(reply);
        expect(where).toEqual({ ok: false, ...RENDERS });
        expect(error).toEqual({
          code: 'INVALID_ARGUMENT',
          message: 'job_id is not valid for project "renders": A fake job id is "job-" followed by up to 32 lowercase letters or digits.',
        });
      }
    }
    expect(backend.calls).toEqual([]);
    expect(clock.pending()).toEqual([]);
    expect(backendErrors).toEqual([]);
    // No wait slot was taken by the refused calls: both of the anonymous caller's slots are free.
    backend.onStatus('job-1', 'running').onStatus('job-2', 'running');
    const w1 = service.getJobStatus({ project_reference: 'renders', job_id: 'job-1', wait_seconds: 1 }, context());
    const w2 = service.getJobStatus({ project_reference: 'renders', job_id: 'job-2', wait_seconds: 1 }, context());
    await clock.advance(1000);
    expect(ok(await w1).changed).toBe(false);
    expect(ok(await w2).changed).toBe(false);
  });
});

describe('job service: get_job_status', () => {
  it('answers a job the backend has no record of as a result with found: false, not as an error', async () => {
    const { service, backendErrors } = gateway();
    const value = ok(await service.getJobStatus({ project_reference: 'renders', job_id: 'job-404' }, context()));
    expect(value).toEqual({ ...RENDERS, job_id: 'job-404', found: false, status: 'unknown', raw_status: null, terminal: false });
    expect(backendErrors).toEqual([]);
  });

  it("passes the backend's report through with terminal added, and cuts a long raw_status to 64 characters", async () => {
    const { service, backend } = gateway();
    const failedJob = report('failed', {
      raw_status: 'error',
      error: { message: 'CUDA out of memory', type: 'OutOfMemoryError', node: '12' },
      created_at: '2026-11-01T11:00:00.000Z',
      started_at: '2026-11-01T11:00:05.000Z',
      completed_at: '2026-11-01T11:01:00.000Z',
      outputs: [{ node: '9', media: 'images', filename: 'a.png', subfolder: '', type: 'output' }],
      host: 'gpu-1',
      name: 'nightly render',
      details: { number: 4 },
    });
    backend.onStatus('job-1', failedJob).onStatus('job-2', report('running', { raw_status: 'w'.repeat(500), queue_position: 0 }));
    expect(ok(await service.getJobStatus({ project_reference: 'renders', job_id: 'job-1' }, context()))).toEqual({
      ...RENDERS,
      job_id: 'job-1',
      ...failedJob,
      terminal: true,
    });
    const long = ok(await service.getJobStatus({ project_reference: 'renders', job_id: 'job-2' }, context()));
    expect(long).toMatchObject({ status: 'running', queue_position: 0, terminal: false, raw_status: 'w'.repeat(64) });
  });

  it('says terminal for succeeded, failed and cancelled only', async () => {
    const { service, backend } = gateway();
    const terminal: Record<string, boolean> = {};
    for (const status of ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'unknown'] as const) {
      backend.onStatus('job-1', status);
      terminal[status] = ok(await service.getJobStatus({ project_reference: 'renders', job_id: 'job-1' }, context())).terminal;
    }
    expect(terminal).toEqual({ queued: false, running: false, succeeded: true, failed: true, cancelled: true, unknown: false });
  });

  it.each([
    [
      'BACKEND_UNAVAILABLE',
      503,
      undefined,
      "The render-farm backend failed. The job's state is not known; try again later. Request id: req-1.",
    ],
    ['BACKEND_AUTH', 401, undefined, 'The render-farm backend failed. Request id: req-1.'],
    ['BACKEND_REJECTED', 422, undefined, 'The render-farm backend failed. Request id: req-1.'],
    ['RATE_LIMITED', 429, 7, 'The render-farm backend failed. Request id: req-1.'],
  ] as const)(
    "answers a backend failure %s with its code and a fixed sentence; the backend's words go to the log only",
    async (code, httpStatus, retry, message) => {
      const { service, backend, backendErrors, internalErrors } = gateway();
      const detail = 'upstream said: password=hunter2 at /srv/app.py line 12';
      backend.onStatus(
        'job-1',
        new BackendError(code, 'The render-farm backend failed', { httpStatus, detail, ...(retry ? { retryAfterSeconds: retry } : {}) }),
      );
      const reply = await service.getJobStatus({ project_reference: '7d3f', job_id: 'job-1' }, context());
      expect(reply).toEqual({
        ok: false,
        ...RENDERS,
        job_id: 'job-1',
        error: { code, message, request_id: 'req-1', ...(retry ? { retry_after_seconds: retry } : {}) },
      });
      expect(JSON.stringify(reply)).not.toMatch(/hunter2|upstream|app\.py/);
      expect(backendErrors).toEqual([
        { tool: 'get_job_status', requestId: 'req-1', ref: { ...RENDERS, job_id: 'job-1' }, code, httpStatus, detail },
      ]);
      expect(internalErrors).toEqual([]);
    },
  );

  it("answers an id the adapter itself refuses as the caller's INVALID_ARGUMENT, not as a backend failure", async () => {
    const { service, backend, backendErrors } = gateway();
    backend.onStatus('job-1', new BackendError('INVALID_ARGUMENT', 'a fake job id never ends in 1'));
    const reply = await service.getJobStatus({ project_reference: 'renders', job_id: 'job-1' }, context());
    expect(failed(reply).error).toEqual({ code: 'INVALID_ARGUMENT', message: 'A fake job id never ends in 1.' });
    expect(backendErrors).toEqual([]);
  });

  it('answers a fault in the gateway as INTERNAL with a fixed sentence; what was thrown reaches the log only', async () => {
    const { service, backend, backendErrors, internalErrors } = gateway();
    const fault = new TypeError("Cannot read properties of undefined (reading 'token=s3cr3t')");
    backend.onStatus('job-1', fault);
    const reply = await service.getJobStatus({ project_reference: 'renders', job_id: 'job-1' }, context());
    expect(failed(reply).error).toEqual({
      code: 'INTERNAL',
      message:
        'The gateway failed while handling this call; the failure was logged. Try again; if it persists, tell the operator. Request id: req-1.',
      request_id: 'req-1',
    });
    expect(JSON.stringify(reply)).not.toContain('s3cr3t');
    expect(internalErrors).toEqual([fault]);
    expect(backendErrors).toEqual([]);
  });

  it("gives the backend the call's signal: when the client goes away the read is aborted and no reply is made", async () => {
    const { service, backend, backendErrors, internalErrors } = gateway();
    backend.onStatus('job-1', HANG);
    const abort = new AbortController();
    const reading = service.getJobStatus({ project_reference: 'renders', job_id: 'job-1' }, context({ signal: abort.signal }));
    expect(backend.hanging).toBe(1);
    abort.abort(new Error('client went away'));
    await expect(reading).rejects.toThrow('client went away');
    expect(backend.hanging).toBe(0);
    expect(backend.signals).toEqual([abort.signal]);
    expect([...backendErrors, ...internalErrors]).toEqual([]);
  });
});

describe('job service: get_job_status with wait_seconds', () => {
  const args = (over: Partial<StatusArgs> = {}): StatusArgs => ({
    project_reference: 'renders',
    job_id: 'job-1',
    wait_seconds: 30,
    ...over,
  });

  it('answers at once when the job is already terminal, or already differs from known_status', async () => {
    const { service, backend, clock } = gateway();
    backend.onStatus('job-1', 'succeeded').onStatus('job-2', 'running');
    expect(ok(await service.getJobStatus(args(), context()))).toMatchObject({
      status: 'succeeded',
      terminal: true,
      changed: false,
      waited_seconds: 0,
    });
    expect(ok(await service.getJobStatus(args({ known_status: 'running' }), context()))).toMatchObject({
      status: 'succeeded',
      changed: true,
      waited_seconds: 0,
    });
    expect(ok(await service.getJobStatus(args({ job_id: 'job-2', known_status: 'queued' }), context()))).toMatchObject({
      status: 'running',
      terminal: false,
      changed: true,
      waited_seconds: 0,
    });
    expect(backend.calls.length).toBe(3);
    expect(clock.pending()).toEqual([]);
  });

  it('answers after the read that sees the status change, with changed and waited_seconds, and reads no more', async () => {
    const { service, backend, clock } = gateway();
    backend.onStatus('job-1', 'queued');
    const waiting = watch(service.getJobStatus(args({ known_status: 'queued' }), context()));
    await clock.advance(5000); // reads at 0, 2 and 4 s
    expect(waiting.settled).toBe(false);
    backend.onStatus('job-1', report('running', { started_at: '2026-11-01T12:00:05.000Z' }));
    await clock.advance(1000); // the read at 6 s sees it
    expect(ok(await waiting.promise)).toEqual({
      ...RENDERS,
      job_id: 'job-1',
      ...report('running', { started_at: '2026-11-01T12:00:05.000Z' }),
      terminal: false,
      changed: true,
      waited_seconds: 6,
    });
    expect(backend.calls).toEqual(Array(4).fill({ op: 'getStatus', jobId: 'job-1' }));
    await clock.advance(30_000);
    expect(backend.calls.length).toBe(4);
    expect(clock.pending()).toEqual([]);
  });

  it('without known_status, waits for a change from the status the job had when the call came', async () => {
    const { service, backend, clock } = gateway();
    backend.onStatus('job-1', 'queued');
    const waiting = watch(service.getJobStatus(args(), context()));
    await clock.advance(2000);
    expect(waiting.settled).toBe(false);
    backend.onStatus('job-1', 'cancelled');
    await clock.advance(2000);
    expect(ok(await waiting.promise)).toMatchObject({ status: 'cancelled', terminal: true, changed: true, waited_seconds: 4 });
  });

  it('answers at the deadline with the latest status and changed: false, which is not an error', async () => {
    const { service, backend, clock } = gateway();
    backend.onStatus('job-1', 'running');
    const waiting = watch(service.getJobStatus(args({ wait_seconds: 10, known_status: 'running' }), context()));
    await clock.advance(7000);
    backend.onStatus('job-1', report('running', { queue_position: 0, raw_status: 'executing' }));
    await clock.advance(2999); // the read at 8 s is the latest: the deadline at 10 s comes before the read due then
    expect(waiting.settled).toBe(false);
    await clock.advance(1);
    expect(ok(await waiting.promise)).toMatchObject({ status: 'running', raw_status: 'executing', changed: false, waited_seconds: 10 });
    expect(clock.pending()).toEqual([]);
  });

  it('shortens a wait longer than the configured maximum to it', async () => {
    const { service, backend, clock } = gateway();
    backend.onStatus('job-1', 'running');
    const waiting = watch(service.getJobStatus(args({ wait_seconds: 600 }), context()));
    await clock.advance(59_999);
    expect(waiting.settled).toBe(false);
    await clock.advance(1);
    expect(ok(await waiting.promise)).toMatchObject({ changed: false, waited_seconds: 60 });
    expect(backend.calls.length).toBe(30); // one read per 2 s, the read due at 60 s not made
  });

  it('answers wait_seconds: 0 with a plain read, without changed or waited_seconds', async () => {
    const { service, backend, clock } = gateway();
    backend.onStatus('job-1', 'running');
    const value = ok(await service.getJobStatus(args({ wait_seconds: 0, known_status: 'running' }), context()));
    expect(value).not.toHaveProperty('changed');
    expect(value).not.toHaveProperty('waited_seconds');
    expect(clock.pending()).toEqual([]);
  });

  it('sends a heartbeat with the latest status every 5 s while it waits', async () => {
    const { service, backend, clock } = gateway();
    backend.onStatus('job-1', report('queued', { queue_position: 3 }));
    const beats: unknown[] = [];
    const onHeartbeat: ServiceCallContext['onHeartbeat'] = (b) =>
      beats.push({ status: b.report?.status, queue: b.report?.queue_position, waited: b.waitedSeconds, total: b.totalSeconds });
    const waiting = service.getJobStatus(args({ wait_seconds: 12 }), context({ onHeartbeat }));
    await clock.advance(6000);
    backend.onStatus('job-1', report('queued', { queue_position: 1 }));
    await clock.advance(6000);
    expect(ok(await waiting)).toMatchObject({ changed: false, waited_seconds: 12, queue_position: 1 });
    expect(beats).toEqual([
      { status: 'queued', queue: 3, waited: 5, total: 12 },
      { status: 'queued', queue: 1, waited: 10, total: 12 },
    ]);
  });

  it("ends the wait with the backend's error when a read fails, as a plain read would, and frees the caller's slot", async () => {
    const { service, backend, clock, backendErrors } = gateway();
    const alice = caller('alice');
    backend.onStatus('job-1', 'running').onStatus('job-2', 'running');
    const other = service.getJobStatus(args({ job_id: 'job-2', wait_seconds: 60 }), context({ caller: alice }));
    const waiting = service.getJobStatus(args(), context({ caller: alice }));
    await clock.advance(2000);
    backend.onStatus(
      'job-1',
      new BackendError('BACKEND_UNAVAILABLE', 'The render-farm backend did not answer in time', { detail: 'ETIMEDOUT' }),
    );
    // A failure that may pass is read again at the next intervals; the last of FAILED_READS_BEFORE_ERROR in a row ends the wait.
    await clock.advance(2000 * (FAILED_READS_BEFORE_ERROR - 1));
    let answered = false;
    void waiting.then(() => (answered = true));
    await clock.advance(0);
    expect(answered).toBe(false);
    await clock.advance(2000);
    expect(failed(await waiting)).toEqual({
      ok: false,
      ...RENDERS,
      job_id: 'job-1',
      error: {
        code: 'BACKEND_UNAVAILABLE',
        message: "The render-farm backend did not answer in time. The job's state is not known; try again later. Request id: req-1.",
        request_id: 'req-1',
      },
    });
    expect(backendErrors.map((f) => [f.tool, f.code, f.detail])).toEqual([['get_job_status', 'BACKEND_UNAVAILABLE', 'ETIMEDOUT']]);
    const job1Reads = backend.callsOf('getStatus').filter((c) => c.jobId === 'job-1').length;
    expect(job1Reads).toBe(2 + FAILED_READS_BEFORE_ERROR);
    // Its slot is free again: alice waits on job-1 once more next to her wait on job-2.
    backend.onStatus('job-1', 'running');
    const again = service.getJobStatus(args({ wait_seconds: 4 }), context({ caller: alice }));
    await clock.advance(4000);
    expect(ok(await again)).toMatchObject({ changed: false, waited_seconds: 4 });
    await clock.advance(60_000);
    expect(ok(await other)).toMatchObject({ changed: false, waited_seconds: 60 });
  });

  it("refuses a wait beyond the caller's limit with RATE_LIMITED before reading, while other callers and plain reads go on", async () => {
    const { service, backend, clock } = gateway();
    const alice = caller('alice');
    backend.onStatus('job-1', 'running').onStatus('job-2', 'running').onStatus('job-3', 'running');
    const first = service.getJobStatus(args({ job_id: 'job-1', wait_seconds: 10 }), context({ caller: alice }));
    const second = service.getJobStatus(args({ job_id: 'job-2', wait_seconds: 20 }), context({ caller: alice }));
    const refused = await service.getJobStatus(args({ project_reference: '7d3f', job_id: 'job-3' }), context({ caller: alice }));
    expect(refused).toEqual({
      ok: false,
      ...RENDERS,
      job_id: 'job-3',
      error: {
        code: 'RATE_LIMITED',
        message: 'You already have as many waits in progress as this gateway allows; let one end, or call without wait_seconds.',
        retry_after_seconds: 10,
      },
    });
    expect(backend.callsOf('getStatus').map((c) => c.jobId)).toEqual(['job-1', 'job-2']);
    // A plain read by alice and a wait by bob are not limited by alice's waits.
    expect(ok(await service.getJobStatus(args({ job_id: 'job-3', wait_seconds: 0 }), context({ caller: alice }))).status).toBe('running');
    const bobs = service.getJobStatus(args({ job_id: 'job-3', wait_seconds: 10 }), context({ caller: caller('bob') }));
    await clock.advance(10_000);
    expect(ok(await first).changed).toBe(false);
    expect(ok(await bobs).changed).toBe(false);
    // One of alice's waits ended: she may wait again.
    const third = service.getJobStatus(args({ job_id: 'job-3', wait_seconds: 10 }), context({ caller: alice }));
    await clock.advance(10_000);
    expect(ok(await second).changed).toBe(false);
    expect(ok(await third).changed).toBe(false);
  });

  it('refuses a wait beyond the limit of the process with RATE_LIMITED and retry_after_seconds, before reading; plain reads go on', async () => {
    const { service, backend, clock } = gateway({ maxConcurrent: 2 });
    backend.onStatus('job-1', 'running').onStatus('job-2', 'running').onStatus('job-3', 'running');
    const first = service.getJobStatus(args({ job_id: 'job-1', wait_seconds: 10 }), context({ caller: caller('alice') }));
    const second = service.getJobStatus(args({ job_id: 'job-2', wait_seconds: 20 }), context({ caller: caller('bob') }));
    await clock.advance(4000);
    const refused = await service.getJobStatus(args({ job_id: 'job-3' }), context({ caller: caller('carol') }));
    expect(refused).toEqual({
      ok: false,
      ...RENDERS,
      job_id: 'job-3',
      error: {
        code: 'RATE_LIMITED',
        message: 'This gateway replica holds as many waits as it can; retry in 6 s, or call without wait_seconds.',
        retry_after_seconds: 6,
      },
    });
    expect(backend.callsOf('getStatus').filter((c) => c.jobId === 'job-3')).toEqual([]);
    expect(failed(await service.cancelJob(args({ job_id: 'job-3', wait_seconds: 5 }), context())).error.code).toBe('RATE_LIMITED');
    expect(backend.callsOf('cancel')).toEqual([]);
    expect(ok(await service.getJobStatus(args({ job_id: 'job-3', wait_seconds: 0 }), context({ caller: caller('carol') }))).status).toBe(
      'running',
    );
    await clock.advance(6000);
    expect(ok(await first).changed).toBe(false);
    const third = service.getJobStatus(args({ job_id: 'job-3', wait_seconds: 10 }), context({ caller: caller('carol') }));
    await clock.advance(10_000);
    expect(ok(await second).changed).toBe(false);
    expect(ok(await third).changed).toBe(false);
  });

  it('counts the waits of calls without authentication as those of one caller', async () => {
    const { service, backend, clock } = gateway();
    backend.onStatus('job-1', 'running');
    const waits = [service.getJobStatus(args(), context()), service.getJobStatus(args(), context())];
    expect(failed(await service.getJobStatus(args(), context())).error.code).toBe('RATE_LIMITED');
    await clock.advance(30_000);
    for (const w of waits) expect(ok(await w).changed).toBe(false);
  });

  it("ends the wait when the client goes away: no reply, the backend's read is aborted, nothing more is read, the slot is freed", async () => {
    const { service, backend, clock, backendErrors } = gateway();
    const alice = caller('alice');
    backend.onStatus('job-1', 'running');
    const abort = new AbortController();
    const waiting = service.getJobStatus(args(), context({ caller: alice, signal: abort.signal }));
    await clock.advance(1000);
    backend.onStatus('job-1', HANG);
    await clock.advance(2000); // the read at 2 s hangs
    expect(backend.hanging).toBe(1);
    abort.abort(new Error('client went away'));
    await expect(waiting).rejects.toThrow('client went away');
    expect(backend.hanging).toBe(0);
    expect(backendErrors).toEqual([]);
    await clock.advance(60_000);
    expect(backend.calls.length).toBe(2);
    expect(clock.pending()).toEqual([]);
    // Both of alice's slots are free.
    backend.onStatus('job-1', 'running');
    const again = [service.getJobStatus(args(), context({ caller: alice })), service.getJobStatus(args(), context({ caller: alice }))];
    await clock.advance(30_000);
    for (const w of again) expect(ok(await w).changed).toBe(false);
  });

  it('reads a job once per interval for every call waiting on it, and gives each call its own answer', async () => {
    const { service, backend, other, clock } = gateway();
    backend.onStatus('job-1', 'queued');
    other.onStatus('job-1', 'queued'); // the same id at another project's backend is another job
    const alices = service.getJobStatus(args({ known_status: 'queued' }), context({ caller: caller('alice') }));
    await clock.advance(1000);
    const bobs = service.getJobStatus(args({ project_reference: '7d3f' }), context({ caller: caller('bob') }));
    const carols = service.getJobStatus(args({ project_reference: 'studio-b' }), context({ caller: caller('carol') }));
    await clock.advance(3000);
    backend.onStatus('job-1', 'running');
    await clock.advance(2000);
    const [a, b] = [ok(await alices), ok(await bobs)];
    expect(a).toMatchObject({ ...RENDERS, status: 'running', changed: true, waited_seconds: 6 });
    expect(b).toMatchObject({ ...RENDERS, status: 'running', changed: true, waited_seconds: 5 });
    expect(a).not.toBe(b);
    expect(backend.calls.length).toBe(4); // at 0, 2, 4 and 6 s, for both calls
    other.onStatus('job-1', 'succeeded');
    await clock.advance(2000);
    expect(ok(await carols)).toMatchObject({
      project_reference: 'studio-b',
      backend: { name: 'gpu-b' },
      status: 'succeeded',
      changed: true,
    });
  });

  it('at shutdown answers every wait at once with the latest status, and refuses waits after it, logging no backend failure', async () => {
    const { service, backend, clock, backendErrors } = gateway();
    backend.onStatus('job-1', 'running');
    const waiting = service.getJobStatus(args({ wait_seconds: 60 }), context());
    await clock.advance(3000);
    service.close();
    expect(ok(await waiting)).toMatchObject({ status: 'running', changed: false, waited_seconds: 3 });
    const after = await service.getJobStatus(args(), context());
    expect(failed(after).error).toMatchObject({ code: 'BACKEND_UNAVAILABLE', request_id: 'req-1' });
    expect(failed(after).error.message).toMatch(/^The gateway is shutting down; ask again\./);
    expect(clock.pending()).toEqual([]);
    expect(backendErrors).toEqual([]); // the gateway refused; no backend failed
  });
});

describe('job service: waits kept by MCP tasks', () => {
  const args = (over: Partial<StatusArgs> = {}): StatusArgs => ({
    project_reference: 'renders',
    job_id: 'job-1',
    wait_seconds: 30,
    ...over,
  });
  const unavailable = () => new BackendError('BACKEND_UNAVAILABLE', 'The render-farm backend answered 502');

  it('answers what the waiting call answers: the change, with changed and waited_seconds', async () => {
    const { service, backend, clock } = gateway();
    backend.onStatus('job-1', 'queued');
    const start = await service.watchStatus(args(), 30, context());
    expect(start.watch).toMatchObject({ tool: 'get_job_status', baseline: 'queued', seconds: 30 });
    await clock.advance(POLL_MS);
    expect(await service.lookAgain(start.watch!, clock.now(), context())).toEqual({ pending: report('queued') });
    backend.onStatus('job-1', 'running');
    await clock.advance(POLL_MS);
    const look = await service.lookAgain(start.watch!, clock.now(), context());
    expect('done' in look && ok(look.done)).toEqual({
      ...RENDERS,
      job_id: 'job-1',
      ...report('running'),
      terminal: false,
      changed: true,
      waited_seconds: 4,
    });
  });

  it('at the deadline during failed reads, answers the last report a read gave, as the waiting call does', async () => {
    const { service, backend, clock } = gateway();
    backend.onStatus('job-1', 'running', unavailable());
    const start = await service.watchStatus(args({ wait_seconds: 10 }), 10, context());
    await clock.advance(POLL_MS);
    // A failure that may pass: still waiting, with the last status known.
    expect(await service.lookAgain(start.watch!, clock.now(), context())).toEqual({ pending: report('running') });
    await clock.advance(10_000);
    const look = await service.lookAgain(start.watch!, clock.now(), context());
    expect('done' in look && ok(look.done)).toMatchObject({ status: 'running', changed: false, waited_seconds: 10 });
  });

  it('is gone for a caller who may no longer use the project', async () => {
    const { service, backend } = gateway();
    backend.onStatus('job-1', 'running');
    const start = await service.watchStatus(args(), 30, context({ caller: caller('a') }));
    const lost = caller('a', () => false);
    expect(service.mayWatch(start.watch!, lost)).toBe(false);
    expect(await service.lookAgain(start.watch!, 0, context({ caller: lost }))).toEqual({ gone: true });
  });
});

describe('job service: cancel_job', () => {
  const args = (over: Partial<CancelArgs> = {}): CancelArgs => ({ project_reference: 'renders', job_id: 'job-1', ...over });

  it("passes the backend's outcome through with terminal of status_after, and cancels only the named job, with the reason", async () => {
    const { service, backend, other, clock } = gateway();
    const removed: CancelReport = {
      outcome: 'cancelled',
      status_before: 'queued',
      status_after: 'cancelled',
      message: 'Removed from the queue.',
      host: 'gpu-1',
      name: 'nightly render',
    };
    backend.onCancel('job-1', removed);
    const value = ok(await service.cancelJob(args({ project_reference: 'render-studio', reason: 'wrong prompt' }), context()));
    expect(value).toEqual({ ...RENDERS, job_id: 'job-1', ...removed, terminal: true });
    expect(backend.calls).toEqual([{ op: 'cancel', jobId: 'job-1', reason: 'wrong prompt' }]);
    expect(other.calls).toEqual([]);
    expect(clock.pending()).toEqual([]);
  });

  it('answers already_terminal, not_found, not_cancellable and cancel_requested as results, not errors', async () => {
    const { service, backend, backendErrors } = gateway();
    const outcomes: CancelReport[] = [
      { outcome: 'already_terminal', status_before: 'succeeded', status_after: 'succeeded', message: 'It had already finished.' },
      { outcome: 'not_found', status_before: 'unknown', status_after: 'unknown', message: 'No such job.' },
      { outcome: 'not_cancellable', status_before: 'queued', status_after: 'queued', message: 'Not in this state; retry later.' },
      requested(),
    ];
    for (const outcome of outcomes) {
      backend.onCancel('job-1', outcome);
      const value = ok(await service.cancelJob(args(), context()));
      expect(value).toEqual({ ...RENDERS, job_id: 'job-1', ...outcome, terminal: outcome.outcome === 'already_terminal' });
    }
    expect(backendErrors).toEqual([]);
    expect(backend.callsOf('getStatus')).toEqual([]);
  });

  it('with wait_seconds, waits after cancel_requested until the backend confirms the job cancelled', async () => {
    const { service, backend, clock } = gateway();
    backend.onCancel('job-1', requested()).onStatus('job-1', 'running');
    const waiting = watch(service.cancelJob(args({ wait_seconds: 30, reason: 'stop' }), context()));
    await clock.advance(3000);
    expect(waiting.settled).toBe(false);
    backend.onStatus('job-1', 'cancelled');
    await clock.advance(1000);
    expect(ok(await waiting.promise)).toEqual({
      ...RENDERS,
      job_id: 'job-1',
      outcome: 'cancelled',
      status_before: 'running',
      status_after: 'cancelled',
      message: 'The job stopped: the backend confirms it is cancelled.',
      terminal: true,
      waited_seconds: 4,
    });
    expect(backend.calls).toEqual([
      { op: 'cancel', jobId: 'job-1', reason: 'stop' },
      { op: 'getStatus', jobId: 'job-1' },
      { op: 'getStatus', jobId: 'job-1' },
      { op: 'getStatus', jobId: 'job-1' },
    ]);
    expect(clock.pending()).toEqual([]);
  });

  it('keeps waiting through a change that is not the end (running to unknown), and ends at terminal', async () => {
    const { service, backend, clock } = gateway();
    backend.onCancel('job-1', requested()).onStatus('job-1', 'running');
    const waiting = watch(service.cancelJob(args({ wait_seconds: 30 }), context()));
    await clock.advance(1000);
    backend.onStatus('job-1', report('unknown', { raw_status: 'stopping' }));
    await clock.advance(4000);
    expect(waiting.settled).toBe(false);
    backend.onStatus('job-1', 'cancelled');
    await clock.advance(1000);
    expect(ok(await waiting.promise)).toMatchObject({ outcome: 'cancelled', status_after: 'cancelled', waited_seconds: 6 });
  });

  it('answers already_terminal when the job ended otherwise before the stop took effect', async () => {
    const { service, backend, clock } = gateway();
    backend.onCancel('job-1', requested()).onStatus('job-1', 'running');
    const waiting = service.cancelJob(args({ wait_seconds: 30 }), context());
    await clock.advance(2000);
    backend.onStatus('job-1', 'failed');
    await clock.advance(2000);
    expect(ok(await waiting)).toMatchObject({
      outcome: 'already_terminal',
      status_before: 'running',
      status_after: 'failed',
      terminal: true,
      message: 'The job ended as failed before the stop took effect.',
      waited_seconds: 4,
    });
  });

  it('answers still cancel_requested at the deadline, saying the job had not stopped yet', async () => {
    const { service, backend, clock } = gateway();
    backend.onCancel('job-1', requested('queued')).onStatus('job-1', 'running');
    const waiting = watch(service.cancelJob(args({ wait_seconds: 10 }), context()));
    await clock.advance(9999);
    expect(waiting.settled).toBe(false);
    await clock.advance(1);
    expect(ok(await waiting.promise)).toMatchObject({
      outcome: 'cancel_requested',
      status_before: 'queued',
      status_after: 'running',
      terminal: false,
      message: 'The job was asked to stop. It had not stopped when the wait ended; ask get_job_status later.',
      waited_seconds: 10,
    });
  });

  it("gives the job's name and details from the latest read after a wait", async () => {
    const { service, backend, clock } = gateway();
    backend
      .onCancel('job-1', { ...requested(), name: 'nightly render', details: { target: 'render' } })
      .onStatus('job-1', report('running', { name: 'nightly render', details: { target: 'render' } }));
    const waiting = service.cancelJob(args({ wait_seconds: 30 }), context());
    await clock.advance(1000);
    backend.onStatus('job-1', report('cancelled', { name: 'nightly render (stopped)', details: { target: 'render', exit_code: 143 } }));
    await clock.advance(1000);
    expect(ok(await waiting)).toMatchObject({
      outcome: 'cancelled',
      status_after: 'cancelled',
      name: 'nightly render (stopped)',
      details: { target: 'render', exit_code: 143 },
    });
  });

  it('does not wait when the cancel needs no confirmation', async () => {
    const { service, backend, clock } = gateway();
    backend.onCancel('job-1', { outcome: 'cancelled', status_before: 'queued', status_after: 'cancelled', message: 'Removed.' });
    const value = ok(await service.cancelJob(args({ wait_seconds: 30 }), context()));
    expect(value).toMatchObject({ outcome: 'cancelled', terminal: true });
    expect(value).not.toHaveProperty('waited_seconds');
    expect(backend.callsOf('getStatus')).toEqual([]);
    expect(clock.pending()).toEqual([]);
  });

  it("refuses a cancel with wait_seconds beyond the caller's wait limit before anything is cancelled; without a wait it goes through", async () => {
    const { service, backend, clock } = gateway();
    const alice = caller('alice');
    backend.onStatus('job-1', 'running').onCancel('job-2', requested());
    const wait = () =>
      service.getJobStatus({ project_reference: 'renders', job_id: 'job-1', wait_seconds: 30 }, context({ caller: alice }));
    const waits = [wait(), wait()];
    const refused = await service.cancelJob(args({ job_id: 'job-2', wait_seconds: 30, reason: 'stop' }), context({ caller: alice }));
    expect(refused).toEqual({
      ok: false,
      ...RENDERS,
      job_id: 'job-2',
      error: {
        code: 'RATE_LIMITED',
        message: 'You already have as many waits in progress as this gateway allows; let one end, or call without wait_seconds.',
        retry_after_seconds: 30,
      },
    });
    expect(backend.callsOf('cancel')).toEqual([]);
    expect(ok(await service.cancelJob(args({ job_id: 'job-2' }), context({ caller: alice }))).outcome).toBe('cancel_requested');
    expect(backend.callsOf('cancel')).toEqual([{ op: 'cancel', jobId: 'job-2', reason: undefined }]);
    await clock.advance(30_000);
    for (const w of waits) expect(ok(await w).changed).toBe(false);
  });

  it("answers a cancel the backend fails with the job's reference and a fixed sentence; the backend's words go to the log only", async () => {
    const { service, backend, backendErrors } = gateway();
    backend.onCancel(
      'job-1',
      new BackendError('BACKEND_AUTH', "The render-farm backend refused the gateway's credentials", {
        httpStatus: 403,
        detail: 'Bearer [redacted] expired',
      }),
    );
    const reply = await service.cancelJob(args({ project_reference: '7d3f' }), context());
    expect(reply).toEqual({
      ok: false,
      ...RENDERS,
      job_id: 'job-1',
      error: {
        code: 'BACKEND_AUTH',
        message: "The render-farm backend refused the gateway's credentials. Request id: req-1.",
        request_id: 'req-1',
      },
    });
    expect(JSON.stringify(reply)).not.toContain('Bearer');
    expect(backendErrors.map((f) => [f.tool, f.code, f.httpStatus, f.detail])).toEqual([
      ['cancel_job', 'BACKEND_AUTH', 403, 'Bearer [redacted] expired'],
    ]);
  });

  it('answers a failed read while confirming as an error: the stop was asked, its effect is not known', async () => {
    const { service, backend, clock } = gateway();
    backend.onCancel('job-1', requested()).onStatus('job-1', 'running');
    const waiting = service.cancelJob(args({ wait_seconds: 30 }), context());
    await clock.advance(1000);
    backend.onStatus('job-1', new BackendError('BACKEND_UNAVAILABLE', 'The render-farm backend answered 502'));
    await clock.advance(1000 + 2000 * (FAILED_READS_BEFORE_ERROR - 1));
    expect(failed(await waiting).error).toMatchObject({
      code: 'BACKEND_UNAVAILABLE',
      message: "The render-farm backend answered 502. The job's state is not known; try again later. Request id: req-1.",
    });
    expect(backend.callsOf('cancel').length).toBe(1);
  });

  it('ends the confirmation wait when the client goes away, with no reply and no further reads', async () => {
    const { service, backend, clock } = gateway();
    backend.onCancel('job-1', requested()).onStatus('job-1', 'running');
    const abort = new AbortController();
    const waiting = service.cancelJob(args({ wait_seconds: 30 }), context({ signal: abort.signal }));
    await clock.advance(3000);
    abort.abort(new Error('client went away'));
    await expect(waiting).rejects.toThrow('client went away');
    const calls = backend.calls.length;
    await clock.advance(30_000);
    expect(backend.calls.length).toBe(calls);
    expect(clock.pending()).toEqual([]);
  });
});

describe('job service: list_jobs', () => {
  const job = (id: string, status: JobStatus, extra: Partial<JobStatusReport> = {}) => ({ job_id: id, ...report(status, extra) });
  const cursorOf = (reply: Reply<ListJobsResult>) => {
    const next = ok(reply).next_cursor;
    if (next === null) throw new Error('expected a next_cursor');
    return next;
  };

  it("lists the backend's page in its order, each job with job_id and terminal and without found, naming the canonical project", async () => {
    const { service, backend } = gateway();
    backend.onList({
      jobs: [
        job('job-3', 'running', { raw_status: 'r'.repeat(100), started_at: '2026-11-01T11:59:00.000Z' }),
        job('job-2', 'failed', { error: { message: 'boom' } }),
        job('job-1', 'succeeded', { name: 'first', details: { number: 1 } }),
      ],
      next: undefined,
    });
    expect(ok(await service.listJobs({ project_reference: '7d3f' }, context()))).toEqual({
      ...RENDERS,
      jobs: [
        { job_id: 'job-3', status: 'running', raw_status: 'r'.repeat(64), started_at: '2026-11-01T11:59:00.000Z', terminal: false },
        { job_id: 'job-2', status: 'failed', raw_status: 'FAILED', error: { message: 'boom' }, terminal: true },
        { job_id: 'job-1', status: 'succeeded', raw_status: 'SUCCEEDED', name: 'first', details: { number: 1 }, terminal: true },
      ],
      next_cursor: null,
    });
  });

  it('passes the status filter (each status once; none or an empty list: every job) and the limit (default 20) to the backend', async () => {
    const { service, backend } = gateway();
    await service.listJobs({ project_reference: 'renders' }, context());
    await service.listJobs({ project_reference: 'renders', status: [] }, context());
    await service.listJobs({ project_reference: 'renders', status: ['running', 'queued', 'running'], limit: 1 }, context());
    await service.listJobs({ project_reference: 'renders', status: ['failed'], limit: 100 }, context());
    expect(backend.calls).toEqual([
      { op: 'list', statuses: undefined, limit: 20, position: undefined },
      { op: 'list', statuses: undefined, limit: 20, position: undefined },
      { op: 'list', statuses: ['running', 'queued'], limit: 1, position: undefined },
      { op: 'list', statuses: ['failed'], limit: 100, position: undefined },
    ]);
  });

  it('gives a cursor that brings the backend back to where its page ended, and null on the last page', async () => {
    const { service, backend } = gateway();
    const position = { offset: 2, last: { t: 1_700_000_000_000, ids: ['job-2'] }, token: 'abc/def?x=1' };
    backend.onList(
      { jobs: [job('job-3', 'running'), job('job-2', 'queued')], next: position },
      { jobs: [job('job-1', 'queued')], next: undefined },
    );
    const first = await service.listJobs({ project_reference: 'renders', status: ['queued', 'running'], limit: 2 }, context());
    const cursor = cursorOf(first);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/); // one opaque token, safe to pass around as is
    const second = await service.listJobs(
      { project_reference: 'render-studio', status: ['running', 'queued'], limit: 2, cursor },
      context(),
    );
    expect(ok(second).jobs.map((j) => j.job_id)).toEqual(['job-1']);
    expect(ok(second).next_cursor).toBeNull();
    expect(backend.callsOf('list').map((c) => c.position)).toEqual([undefined, position]);
  });

  it('refuses a cursor of another project, of another status filter, or a damaged one with INVALID_ARGUMENT, before asking the backend', async () => {
    const { service, backend, other, backendErrors } = gateway();
    backend.onList({ jobs: [job('job-2', 'queued')], next: { offset: 1 } });
    other.onList({ jobs: [job('job-9', 'queued')], next: { offset: 1 } });
    const fromRenders = cursorOf(await service.listJobs({ project_reference: 'renders', status: ['queued'] }, context()));
    const fromStudioB = cursorOf(await service.listJobs({ project_reference: 'studio-b', status: ['queued'] }, context()));
    const unfiltered = cursorOf(await service.listJobs({ project_reference: 'renders' }, context()));
    const listedBefore = [backend.calls.length, other.calls.length];
    const refused: Array<[string, ListArgs]> = [
      ['a cursor of another project', { project_reference: 'renders', status: ['queued'], cursor: fromStudioB }],
      ['a cursor used with another project', { project_reference: 'studio-b', status: ['queued'], cursor: fromRenders }],
      ['another status', { project_reference: 'renders', status: ['running'], cursor: fromRenders }],
      ['no status where it had one', { project_reference: 'renders', cursor: fromRenders }],
      ['a status where it had none', { project_reference: 'renders', status: ['queued'], cursor: unfiltered }],
      ['not a cursor', { project_reference: 'renders', cursor: 'not-a-cursor' }],
      ['empty', { project_reference: 'renders', cursor: '' }],
      ['cut short', { project_reference: 'renders', status: ['queued'], cursor: fromRenders.slice(0, -6) }],
      ['JSON, not a cursor', { project_reference: 'renders', cursor: Buffer.from('[1,2]').toString('base64url') }],
      [
        'another version',
        { project_reference: 'renders', cursor: Buffer.from('{"v":2,"backend":"render-farm","filter":""}').toString('base64url') },
      ],
    ];
    for (const [what, listArgs] of refused) {
      const { error, ...where } = failed(await service.listJobs(listArgs, context()));
      expect({ what, error }).toEqual({
        what,
        error: {
          code: 'INVALID_ARGUMENT',
          message: 'The cursor belongs to another listing (another project or status filter) or is damaged; list again without a cursor.',
        },
      });
      expect(where).toEqual({
        ok: false,
        project_reference: listArgs.project_reference,
        backend: { name: listArgs.project_reference === 'renders' ? 'render-farm' : 'gpu-b', kind: 'fake' },
      });
    }
    expect([backend.calls.length, other.calls.length]).toEqual(listedBefore);
    expect(backendErrors).toEqual([]);
  });

  it("answers a position the backend cannot have come from (an edited cursor) with the backend's INVALID_ARGUMENT, not a backend failure", async () => {
    const { service, backend, backendErrors } = gateway();
    backend.onList({ jobs: [job('job-2', 'queued')], next: { offset: 1 } }, badPosition());
    const cursor = cursorOf(await service.listJobs({ project_reference: 'renders' }, context()));
    const edited = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as { position: unknown };
    edited.position = { offset: -5, path: '../../admin' };
    const reply = await service.listJobs(
      { project_reference: 'renders', cursor: Buffer.from(JSON.stringify(edited)).toString('base64url') },
      context(),
    );
    expect(failed(reply).error).toEqual({
      code: 'INVALID_ARGUMENT',
      message: 'The cursor is not one this gateway gave for this listing; list again without a cursor.',
    });
    expect(backend.callsOf('list')[1]!.position).toEqual({ offset: -5, path: '../../admin' });
    expect(backendErrors).toEqual([]);
  });

  it('names hosts that could not be listed, each with a fixed sentence; their words go to the log only', async () => {
    const { service, backend, backendErrors } = gateway();
    backend.onList({
      jobs: [job('job-1', 'running', { host: 'gpu-1' })],
      next: undefined,
      unavailable: [
        {
          host: 'gpu-2',
          error: new BackendError('BACKEND_UNAVAILABLE', 'ComfyUI host gpu-2 did not answer', { detail: 'ECONNREFUSED 10.0.0.7:8188' }),
        },
        { host: 'gpu-3', error: new RangeError('internal slip') },
      ],
    });
    const value = ok(await service.listJobs({ project_reference: 'renders' }, context()));
    expect(value.jobs.map((j) => j.job_id)).toEqual(['job-1']);
    expect(value.unavailable_hosts).toEqual([
      {
        host: 'gpu-2',
        error: {
          code: 'BACKEND_UNAVAILABLE',
          message: 'ComfyUI host gpu-2 did not answer. Try again later. Request id: req-1.',
          request_id: 'req-1',
        },
      },
      {
        host: 'gpu-3',
        error: {
          code: 'INTERNAL',
          message:
            'The gateway failed while handling this call; the failure was logged. Try again; if it persists, tell the operator. Request id: req-1.',
          request_id: 'req-1',
        },
      },
    ]);
    expect(JSON.stringify(value)).not.toMatch(/ECONNREFUSED|10\.0\.0\.7|slip/);
    expect(backendErrors).toEqual([
      {
        tool: 'list_jobs',
        requestId: 'req-1',
        ref: RENDERS,
        host: 'gpu-2',
        code: 'BACKEND_UNAVAILABLE',
        httpStatus: undefined,
        detail: 'ECONNREFUSED 10.0.0.7:8188',
      },
    ]);
  });

  it('answers a listing the backend cannot give with its error, naming the project and backend but no job', async () => {
    const { service, backend, backendErrors } = gateway();
    backend.onList(
      new BackendError('RATE_LIMITED', 'The render-farm backend is rate limited', {
        httpStatus: 429,
        retryAfterSeconds: 12,
        detail: 'slow down',
      }),
    );
    expect(await service.listJobs({ project_reference: 'renders', status: ['queued'] }, context())).toEqual({
      ok: false,
      ...RENDERS,
      error: {
        code: 'RATE_LIMITED',
        message: 'The render-farm backend is rate limited. Request id: req-1.',
        retry_after_seconds: 12,
        request_id: 'req-1',
      },
    });
    backend.onList(new BackendError('BACKEND_UNAVAILABLE', 'The render-farm backend answered 500'));
    expect(failed(await service.listJobs({ project_reference: 'renders' }, context())).error.message).toBe(
      'The render-farm backend answered 500. Try again later. Request id: req-1.',
    );
    expect(backendErrors.map((f) => [f.tool, f.code, f.ref])).toEqual([
      ['list_jobs', 'RATE_LIMITED', RENDERS],
      ['list_jobs', 'BACKEND_UNAVAILABLE', RENDERS],
    ]);
  });

  it("gives the backend the call's signal: when the client goes away the listing is aborted and no reply is made", async () => {
    const { service, backend, backendErrors } = gateway();
    backend.onList(HANG);
    const abort = new AbortController();
    const listing = service.listJobs({ project_reference: 'renders' }, context({ signal: abort.signal }));
    expect(backend.hanging).toBe(1);
    abort.abort(new Error('client went away'));
    await expect(listing).rejects.toThrow('client went away');
    expect(backend.hanging).toBe(0);
    expect(backendErrors).toEqual([]);
  });
});
