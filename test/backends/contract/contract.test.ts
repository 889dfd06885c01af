// The backend contract: what every backend kind's adapter promises over its simulation, written once.
// - A job the backend does not know is `found: false`, never a failure; its cancel is not_found.
// - A backend that cannot be reached, or hangs, is BACKEND_UNAVAILABLE, never unknown.
// - A cancel touches only the named job, is confirmed by reading the job again, and is idempotent:
//   once the job has stopped, a second cancel answers already_terminal and sends nothing.
// - An answer about another job is refused.
// - What a backend says in an error, and the gateway's credentials for it, never reach callers.
// - A listing gives each job once, newest first, while jobs are created between its pages; a kind
//   that cannot list says so (INVALID_ARGUMENT) and sends nothing.
// Adding a backend kind means adding its fixture to FIXTURES (the compiler asks for it); a property
// that does not hold for a kind is declared by its fixture as a Skip with the reason.
import { afterEach, beforeEach, describe, expect, it, type TestContext } from 'vitest';
import type { BackendKind } from '../../../src/backends/registry.ts';
import { isBackendError } from '../../../src/jobs/backend-error.ts';
import type { JobBackend } from '../../../src/jobs/backend.ts';
import { timeOf, type ListedJob } from '../../../src/jobs/listing.ts';
import { ctx, errorCode } from '../../helpers/backend-calls.ts';
import { listAll, listQuery } from '../../helpers/list-calls.ts';
import { backendFailures, callThroughService, expectFailureSeen, type ToolCallSeen } from '../../helpers/tool-errors.ts';
import { isSkip, type ContractFixture, type ContractRig, type JobState, type RequestMark, type TerminalState } from './fixture.ts';
import { agentJobsFixture } from './fixtures/agent-jobs.ts';
import { comfycontrolFixture } from './fixtures/comfycontrol.ts';
import { comfyuiFixture } from './fixtures/comfyui.ts';
import { projectRuntimeFixture } from './fixtures/project-runtime.ts';
import { falFixture, replicateFixture, runpodFixture } from './fixtures/http-jobs.ts';

/** Every kind, each with its simulation's setups: a kind missing here does not compile. */
const FIXTURES = {
  comfyui: [
    comfyuiFixture('one host with the jobs API', [{ name: 'gpu1', api: 'jobs' }]),
    comfyuiFixture('one legacy host', [{ name: 'gpu1', api: 'legacy' }]),
    comfyuiFixture('a jobs-API host and a legacy host', [
      { name: 'gpu1', api: 'jobs' },
      { name: 'old', api: 'legacy' },
    ]),
  ],
  agent_jobs: [agentJobsFixture],
  project_runtime: [projectRuntimeFixture],
  comfycontrol: [comfycontrolFixture],
  http_jobs: [replicateFixture, falFixture, runpodFixture],
} as const satisfies Record<BackendKind, readonly [ContractFixture, ...ContractFixture[]]>;

const CASES = (Object.entries(FIXTURES) as [BackendKind, readonly ContractFixture[]][]).flatMap(([kind, fixtures]) =>
  fixtures.map((fixture) => ({ kind, fixture, name: fixture.label })),
);

const TERMINAL: readonly TerminalState[] = ['succeeded', 'failed', 'cancelled'];
/** A deadline short enough that a hang costs little, long enough for a loopback answer. */
const HANG_TIMEOUT_MS = 150;

describe.each(CASES)('backend contract: $name', ({ kind, fixture }) => {
  let rig: ContractRig;
  /** Where the request logs stood when the test began. */
  let begin: RequestMark;
  /** Everything a caller could receive from this test's adapters: results, errors, tool results, logs. */
  let seen: string[];

  beforeEach(async () => {
    rig = await fixture.start();
    begin = rig.mark();
    seen = [];
  });
  afterEach(async () => {
    await rig.close();
    // The credential in the config never comes back, in a result, an error (its log detail included) or a log line.
    for (const s of seen) expect(s).not.toContain(rig.secret);
  });

  /** An adapter whose every answer and error is kept for the credential check. */
  function adapter(options?: { timeoutMs?: number }): JobBackend {
    return watch(rig.adapter(options));
  }
  function watch(b: JobBackend): JobBackend {
    expect(b.kind).toBe(kind);
    const keep = async <T>(p: Promise<T>): Promise<T> => {
      try {
        const v = await p;
        seen.push(JSON.stringify(v));
        return v;
      } catch (e) {
        seen.push(JSON.stringify(isBackendError(e) ? { code: e.code, message: e.message, detail: e.detail } : String(e)));
        throw e;
      }
    };
    return {
      kind: b.kind,
      name: b.name,
      validateJobId: (id) => b.validateJobId(id),
      getStatus: (id, c) => keep(b.getStatus(id, c)),
      cancel: (id, c) => keep(b.cancel(id, c)),
      list: (q) => keep(b.list(q)),
    };
  }
  async function through(b: JobBackend, tool: 'get_job_status' | 'cancel_job', id: string): Promise<ToolCallSeen> {
    const s = await callThroughService(b, tool, id);
    seen.push(s.callerSees, s.log);
    return s;
  }
  const writes = (mark = begin) => rig.since(mark).filter((r) => rig.isWrite(r));
  const names = (r: { path: string; body: string }, id: string) =>
    decodeURIComponent(r.path).includes(id) || r.body.includes(JSON.stringify(id));

  describe('a job the backend does not know', () => {
    it('is found: false, never a failure, and its cancel is not_found with nothing sent', async () => {
      const b = adapter();
      const id = rig.unknownId();
      expect(b.validateJobId(id)).toBeNull();
      expect(await b.getStatus(id, ctx())).toEqual({ found: false, status: 'unknown', raw_status: null });
      expect(await b.cancel(id, ctx())).toMatchObject({ outcome: 'not_found', status_before: 'unknown', status_after: 'unknown' });
      expect(writes()).toEqual([]);
    });

    it("another tenant's job is not found either, and its cancel leaves it alone", async (t) => {
      const foreign = rig.foreignJob();
      if (isSkip(foreign)) return t.skip(foreign.skip.reason);
      const b = adapter();
      const before = rig.stateOf(foreign);
      expect(await b.getStatus(foreign, ctx())).toEqual({ found: false, status: 'unknown', raw_status: null });
      expect(await b.cancel(foreign, ctx())).toMatchObject({ outcome: 'not_found', status_before: 'unknown', status_after: 'unknown' });
      expect(writes()).toEqual([]);
      expect(rig.stateOf(foreign)).toBe(before);
    });
  });

  describe('a backend that cannot answer', () => {
    /** The error code of each call a caller can make: a job's status and cancel, an unknown one's, and the list where the kind lists. */
    const everyCallsError = (b: JobBackend, id: string) =>
      Promise.all([
        errorCode(b.getStatus(id, ctx())),
        errorCode(b.getStatus(rig.unknownId(), ctx())),
        errorCode(b.cancel(id, ctx())),
        errorCode(b.cancel(rig.unknownId(), ctx())),
        ...(isSkip(rig.lists) ? [] : [errorCode(b.list(listQuery()))]),
      ]);

    it('is BACKEND_UNAVAILABLE when unreachable, for every call, never unknown', async () => {
      const b = watch(await rig.unreachableAdapter());
      const id = rig.jobIn('running');
      const calls = await everyCallsError(b, id);
      expect(calls).toEqual(Array(calls.length).fill('BACKEND_UNAVAILABLE'));
    });

    it('is BACKEND_UNAVAILABLE when it hangs, for every call, once the deadline passes', async () => {
      const id = rig.jobIn('running');
      const before = rig.stateOf(id);
      rig.hang();
      const b = adapter({ timeoutMs: HANG_TIMEOUT_MS });
      const calls = await everyCallsError(b, id);
      expect(calls).toEqual(Array(calls.length).fill('BACKEND_UNAVAILABLE'));
      expect(writes()).toEqual([]);
      expect(rig.stateOf(id)).toBe(before);
    });
  });

  describe('cancel', () => {
    it.each(['queued', 'running'] as const)(
      'cancels a %s job and no other; once it stopped, a second cancel is already_terminal and sends nothing',
      async (state) => {
        const b = adapter();
        const id = rig.jobIn(state);
        const siblingStates: JobState[] = state === 'queued' ? ['queued', 'running', ...TERMINAL] : ['queued', ...TERMINAL];
        const siblings = siblingStates.map((s) => rig.jobIn(s));
        const simBefore = siblings.map((s) => rig.stateOf(s));
        const readBefore = await Promise.all(siblings.map(async (s) => (await b.getStatus(s, ctx())).status));
        expect(readBefore).toEqual(siblingStates);

        const start = rig.mark();
        const outcome = rig.firstCancel[state];
        expect(await b.cancel(id, ctx())).toMatchObject({
          outcome,
          status_before: state,
          status_after: outcome === 'cancelled' ? 'cancelled' : state,
        });
        // Every write named this job, and none of the others.
        const sent = writes(start);
        expect(sent.length).toBeGreaterThan(0);
        for (const w of sent) {
          expect(names(w, id), `${w.method} ${w.path} ${w.body}`).toBe(true);
          for (const s of siblings) expect(names(w, s), `${w.method} ${w.path} ${w.body} names ${s}`).toBe(false);
        }
        expect(siblings.map((s) => rig.stateOf(s))).toEqual(simBefore);
        expect(await Promise.all(siblings.map(async (s) => (await b.getStatus(s, ctx())).status))).toEqual(readBefore);

        rig.settle();
        expect(await b.getStatus(id, ctx())).toMatchObject({ found: true, status: 'cancelled' });
        const settled = rig.mark();
        expect(await b.cancel(id, ctx())).toMatchObject({
          outcome: 'already_terminal',
          status_before: 'cancelled',
          status_after: 'cancelled',
        });
        expect(writes(settled)).toEqual([]);
      },
    );

    it.for(['queued', 'running'] as const)('confirms the cancel of a %s job by reading the job after its write', async (state) => {
      const b = adapter();
      const id = rig.jobIn(state);
      const start = rig.mark();
      const r = await b.cancel(id, ctx());
      const sent = rig.since(start);
      const lastWrite = sent.findLastIndex((q) => rig.isWrite(q));
      expect(lastWrite).toBeGreaterThanOrEqual(0);
      expect(
        sent.slice(lastWrite + 1).some((q) => rig.isRead(q, id)),
        sent.map((q) => `${q.method} ${q.path}`).join(', '),
      ).toBe(true);
      // What the read after the write said is what the cancel reports.
      expect((await b.getStatus(id, ctx())).status).toBe(r.status_after);
    });

    it.each(TERMINAL)('answers already_terminal for a %s job, with nothing sent', async (state) => {
      const b = adapter();
      const id = rig.jobIn(state);
      const before = rig.stateOf(id);
      expect(await b.cancel(id, ctx())).toMatchObject({ outcome: 'already_terminal', status_before: state, status_after: state });
      expect(writes()).toEqual([]);
      expect(rig.stateOf(id)).toBe(before);
    });
  });

  describe('an answer about another job', () => {
    /** The fixture's foreign answer, installed; undefined when the kind's reads name no job (the test is skipped). */
    async function installed(t: TestContext) {
      const a = await rig.answerAboutAnotherJob();
      if (isSkip(a)) {
        t.skip(a.skip.reason);
        return undefined;
      }
      const b = adapter();
      // Read truly first: the adapter then knows where the job is (and a probing adapter what its hosts speak).
      expect((await b.getStatus(a.jobId, ctx())).found).toBe(true);
      const before = rig.stateOf(a.jobId);
      const start = rig.mark();
      a.install();
      return { b, a, before, start };
    }

    it('is refused by get_job_status: BACKEND_UNAVAILABLE, with no status and nothing of the other record', async (t) => {
      const given = await installed(t);
      if (!given) return;
      const { b, a } = given;
      const s = await through(b, 'get_job_status', a.jobId);
      expect(s.error?.code).toBe('BACKEND_UNAVAILABLE');
      expect(s.error?.message).toMatch(/different job/);
      expect(s.result.structuredContent).not.toHaveProperty('status');
      for (const word of a.words) expect(s.callerSees).not.toContain(word);
      // The log says what came back.
      expect(s.lines.find((l) => l.event === 'backend_error')?.detail).toContain(a.otherId);
    });

    it('is refused by cancel_job: BACKEND_UNAVAILABLE (not already_terminal), after the read alone, the job untouched', async (t) => {
      const given = await installed(t);
      if (!given) return;
      const { b, a, before, start } = given;
      const s = await through(b, 'cancel_job', a.jobId);
      expect(s.error?.code).toBe('BACKEND_UNAVAILABLE');
      expect(s.result.structuredContent).not.toHaveProperty('outcome');
      for (const word of a.words) expect(s.callerSees).not.toContain(word);
      const sent = rig.since(start);
      expect(sent).toHaveLength(a.reads);
      for (const q of sent) expect(rig.isRead(q, a.jobId), `${q.method} ${q.path}`).toBe(true);
      expect(rig.stateOf(a.jobId)).toBe(before);
    });

    it("is refused in a cancel's answer: BACKEND_UNAVAILABLE, claiming nothing", async (t) => {
      const id = rig.jobIn('running');
      const other = rig.cancelAnswerAboutAnotherJob(id);
      if (isSkip(other)) return t.skip(other.skip.reason);
      const b = adapter();
      const start = rig.mark();
      const e = await b.cancel(id, ctx()).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(isBackendError(e) && e.code).toBe('BACKEND_UNAVAILABLE');
      expect((e as Error).message).not.toContain(other.otherId);
      // Read, cancel, and nothing after: no read could turn the refused answer into an outcome.
      expect(rig.since(start).map((q) => (rig.isWrite(q) ? 'write' : rig.isRead(q, id) ? 'read' : `${q.method} ${q.path}`))).toEqual([
        'read',
        'write',
      ]);
    });
  });

  describe("a backend's error bodies and the gateway's credentials", () => {
    it.each(backendFailures('{secret}'))('$what: $code; its words and the credential reach the log only, redacted', async (shape) => {
      const f = backendFailures(rig.secret).find((x) => x.what === shape.what)!;
      const id = rig.jobIn('running');
      const before = rig.stateOf(id);
      rig.failWith(f.status, f.body);
      // Each tool through an adapter of its own (its own circuit breaker), both at once.
      await Promise.all(
        (['get_job_status', 'cancel_job'] as const).map(async (tool) => {
          const b = adapter();
          const s = await through(b, tool, id);
          expectFailureSeen(s, f, { tool, backend: b.name, kind, secret: rig.secret, messageStart: rig.failureMessageStart });
          expect(s.lines.find((l) => l.event === 'backend_error')).toMatchObject({ job_id: id });
        }),
      );
      // The cancel stopped at its failed read.
      expect(writes()).toEqual([]);
      expect(rig.stateOf(id)).toBe(before);
    });
  });

  describe('list', () => {
    /** Pages of three, two new jobs created after every page but the last. */
    async function listWhileCreating() {
      const existing = rig.allJobIds();
      const created: string[] = [];
      const { jobs, pages } = await listAll(adapter(), { limit: 3 }, () => {
        created.push(rig.addNewerJob(), rig.addNewerJob());
      });
      expect(pages.length).toBeGreaterThan(2);
      return { existing, created, jobs };
    }
    /** A listing's time for newest-first order; a job without one sorts first (a legacy ComfyUI queue). */
    const timeKey = (j: ListedJob) => timeOf(j) ?? Infinity;

    it('gives each job once, newest first, while jobs are created between pages, and loses none that existed at the first page', async (t) => {
      if (isSkip(rig.lists)) return t.skip(rig.lists.skip.reason);
      const { existing, jobs } = await listWhileCreating();
      const ids = jobs.map((j) => j.job_id);
      expect(
        ids.filter((id, i) => ids.indexOf(id) !== i),
        'listed twice',
      ).toEqual([]);
      expect(jobs.every((j) => j.found)).toBe(true);
      for (let i = 1; i < jobs.length; i++)
        expect(timeKey(jobs[i]!), `job ${i} (${ids[i]}) is newer than the one before it`).toBeLessThanOrEqual(timeKey(jobs[i - 1]!));
      expect(
        existing.filter((id) => !ids.includes(id)),
        'lost',
      ).toEqual([]);
    });

    it('gives every job its creation time', async (t) => {
      if (isSkip(rig.lists)) return t.skip(rig.lists.skip.reason);
      if (isSkip(rig.everyJobTimed)) return t.skip(rig.everyJobTimed.skip.reason);
      const { jobs } = await listWhileCreating();
      for (const j of jobs) expect(j.created_at, j.job_id).toMatch(/^\d{4}-\d\d-\d\dT/);
    });

    it('lists no job created after its first page', async (t) => {
      if (isSkip(rig.lists)) return t.skip(rig.lists.skip.reason);
      if (isSkip(rig.listsOnlyJobsOfFirstPage)) return t.skip(rig.listsOnlyJobsOfFirstPage.skip.reason);
      const { existing, created, jobs } = await listWhileCreating();
      expect(created.length).toBeGreaterThan(0);
      expect(jobs.map((j) => j.job_id).sort()).toEqual([...existing].sort());
    });

    it('is refused by a kind that cannot list: INVALID_ARGUMENT saying so, with nothing sent', async (t) => {
      if (!isSkip(rig.lists)) return t.skip('this kind lists its jobs');
      rig.jobIn('running');
      const e = await adapter()
        .list(listQuery())
        .then(
          () => undefined,
          (err: unknown) => err,
        );
      expect(isBackendError(e) && e.code).toBe('INVALID_ARGUMENT');
      expect((e as Error).message).toMatch(/cannot list/);
      expect(rig.since(begin)).toEqual([]);
    });
  });
});
