// The job service over a backend that hands out the very same report object on every read, as an
// adapter does while a job's answer is unchanged (backends/http/answer-memo.ts). Whatever in a result
// depends on the call (the name the caller used, who calls, whether and how long it waited, which
// project's backend answered) must be the call's own, never carried over from the call before.
import { describe, expect, it } from 'vitest';
import type { JobBackend } from '../../src/jobs/backend.ts';
import type { Caller } from '../../src/jobs/caller.ts';
import { createJobService, type JobService, type JobStatusResult } from '../../src/jobs/job-service.ts';
import type { JobStatusReport } from '../../src/jobs/model.ts';
import { createProjectRegistry } from '../../src/jobs/registry.ts';
import type { Reply } from '../../src/jobs/replies.ts';
import { createWaitHub } from '../../src/jobs/waits.ts';
import { createSystemClock } from '../../src/jobs/clock.ts';

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

function serviceOver(...projects: { reference: string; aliases?: string[]; backend: JobBackend }[]): JobService {
  const registry = createProjectRegistry(projects.map((p) => ({ aliases: [], pollIntervalMs: 1, ...p })));
  return createJobService(
    registry,
    {},
    { waits: createWaitHub({ maxSeconds: 60, heartbeatSeconds: 60, maxPerCaller: 10 }, createSystemClock()) },
  );
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
    const waited = valueOf(
      await service.getJobStatus({ project_reference: 'renders', job_id: JOB, wait_seconds: 30, known_status: 'running' }, call()),
    );
    expect(waited).toMatchObject({ status: 'succeeded', terminal: true, changed: true });
    expect(waited.waited_seconds).toBeGreaterThanOrEqual(0);
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
