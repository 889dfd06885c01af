import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createProjectRuntimeBackend } from '../../../src/backends/project-runtime/profile.ts';
import type { ProjectRuntimeBackendConfig } from '../../../src/backends/project-runtime/config.ts';
import { isBackendError } from '../../../src/jobs/backend-error.ts';
import type { JobBackend } from '../../../src/jobs/backend.ts';
import { projectRuntimeDetailsSchema } from '../../../src/backends/project-runtime/details.ts';
import { MAX_DETAIL_CHARS } from '../../../src/jobs/details.ts';
import { ManualClock } from '../../../src/simulation/clock.ts';
import { createMemoryStore } from '../../../src/state/memory-store.ts';
import { startProjectRuntimeSim, type ProjectRuntimeSim } from '../../../src/backends/project-runtime/simulation/server.ts';
import { startSimServer, type SimServer } from '../../../src/simulation/sim-server.ts';
import { freePort as closedPort } from '../../../scripts/tools/ports.ts';
import { TickingClock, errorCode, ctx } from '../../helpers/backend-calls.ts';
import { expectEachOnceNewestFirst, expectFailure, listAll, listQuery } from '../../helpers/list-calls.ts';

const TOKEN = 'vf_test_token';

let clock: ManualClock;
let sim: ProjectRuntimeSim;
const backends: JobBackend[] = [];

function backend(
  overrides: Partial<ProjectRuntimeBackendConfig> = {},
  options: { projectReference?: string; timeoutMs?: number } = {},
): JobBackend {
  const config: ProjectRuntimeBackendConfig = {
    kind: 'project_runtime',
    base_url: sim.baseUrl,
    token: TOKEN,
    remote_project: 'dreamy-haven',
    ...overrides,
  };
  const b = createProjectRuntimeBackend(config, {
    name: 'site-x',
    projectReference: options.projectReference ?? 'site-x',
    timeoutMs: options.timeoutMs ?? 2_000,
    state: createMemoryStore(),
  });
  backends.push(b);
  return b;
}

beforeEach(async () => {
  clock = new ManualClock();
  sim = await startProjectRuntimeSim({ token: TOKEN, projects: ['dreamy-haven', 'second-site'], clock });
});
afterEach(async () => {
  await Promise.all(backends.splice(0).map(async (b) => b.close?.()));
  await sim.close();
});

describe('project-runtime adapter: get_job_status', () => {
  it('maps every seeded state', async () => {
    const b = backend();
    const expected = {
      queued: 'queued',
      running: 'running',
      long_running: 'running',
      succeeded: 'succeeded',
      failed: 'failed',
      cancelled: 'cancelled',
    } as const;
    for (const [state, status] of Object.entries(expected)) {
      for (const id of sim.seeds[state as keyof typeof expected]) {
        const r = await b.getStatus(id, ctx());
        expect(r).toMatchObject({ found: true, status, raw_status: sim.job(id)!.status });
      }
    }
  });

  it('reports times, and the failure reason, detail and exit code', async () => {
    const b = backend();
    const failed = await b.getStatus(sim.seeds.failed[0]!, ctx());
    expect(failed.error?.message).toMatch(/parser_error/);
    expect(failed.error?.message).toMatch(/code 1/);
    const bare = await b.getStatus(sim.addJob({ status: 'failed', failureDetail: 'OOMKilled', exitCode: 137 }), ctx());
    expect(bare.error?.message).toBe('OOMKilled (exit code 137)');
    expect(failed.error?.type).toBe('BackoffLimitExceeded');
    expect(failed.created_at).toMatch(/Z$/);
    expect(failed.started_at).toMatch(/Z$/);
    expect(failed.completed_at).toMatch(/Z$/);
    const queued = await b.getStatus(sim.seeds.queued[0]!, ctx());
    expect(queued.started_at).toBeUndefined();
    expect(queued.completed_at).toBeUndefined();
  });

  it('keeps a completed job succeeded but surfaces a partial or failed result summary', async () => {
    const b = backend();
    const clean = sim.addJob({ status: 'completed', resultState: 'success' });
    expect((await b.getStatus(clean, ctx())).error).toBeUndefined();
    const partial = await b.getStatus(sim.addJob({ status: 'completed', resultState: 'partial_success' }), ctx());
    expect(partial.status).toBe('succeeded');
    expect(partial.error).toMatchObject({ type: 'result_summary.partial_success' });
    const failedSummary = await b.getStatus(sim.addJob({ status: 'completed', resultState: 'failed' }), ctx());
    expect(failedSummary.status).toBe('succeeded');
    expect(failedSummary.raw_status).toBe('completed');
    expect(failedSummary.error).toMatchObject({ type: 'result_summary.failed' });
    expect(failedSummary.error?.message).toMatch(/failure/);
  });

  it('uses remote_project in the path, else the project reference, and sends the token', async () => {
    await backend().getStatus(sim.seeds.running[0]!, ctx());
    expect(sim.server.requests.at(-1)!.path).toBe(`/projects/dreamy-haven/jobs/${sim.seeds.running[0]}`);
    expect(sim.server.requests.at(-1)!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    const r = await backend({ remote_project: undefined }, { projectReference: 'dreamy-haven' }).getStatus(sim.seeds.running[0]!, ctx());
    expect(r.status).toBe('running');
  });

  it('accepts an uppercase UUID and sends it in lowercase', async () => {
    const id = sim.seeds.running[0]!;
    expect((await backend().getStatus(id.toUpperCase(), ctx())).status).toBe('running');
    expect(sim.server.requests.at(-1)!.path).toBe(`/projects/dreamy-haven/jobs/${id}`);
  });

  it('answers BACKEND_AUTH for a wrong token and for a project the token cannot access', async () => {
    expect(await errorCode(backend({ token: 'vf_wrong' }).getStatus(sim.seeds.running[0]!, ctx()))).toBe('BACKEND_AUTH');
    const id = sim.addJob({ project: 'someone-elses', status: 'working' });
    expect(await errorCode(backend({ remote_project: 'someone-elses' }).getStatus(id, ctx()))).toBe('BACKEND_AUTH');
  });
});

describe('project-runtime adapter: cancel_job', () => {
  it('cancels a submitted job at once, and confirms it with a read (the cancel answer alone is not taken as proof)', async () => {
    const id = sim.seeds.queued[0]!;
    const r = await backend().cancel(id, ctx());
    expect(r).toMatchObject({ outcome: 'cancelled', status_before: 'queued', status_after: 'cancelled' });
    expect(sim.server.requests.map((q) => `${q.method} ${q.path}`)).toEqual([
      `GET /projects/dreamy-haven/jobs/${id}`,
      `POST /projects/dreamy-haven/jobs/${id}/cancel`,
      `GET /projects/dreamy-haven/jobs/${id}`,
    ]);
  });

  it('turns a 409 (finished between the read and the cancel) into already_terminal after a read', async () => {
    await sim.close();
    sim = await startProjectRuntimeSim({ token: TOKEN, projects: ['dreamy-haven'], clock: new TickingClock(1_000), seed: false });
    // addJob reads the clock at t0; the status read sees t0+1s, the cancel t0+2s, after the run ended.
    const id = sim.addJob({ status: 'working', runsForMs: 1_500 });
    expect(await backend().cancel(id, ctx())).toMatchObject({
      outcome: 'already_terminal',
      status_before: 'running',
      status_after: 'succeeded',
    });
    expect(sim.server.requests.map((q) => q.method)).toEqual(['GET', 'POST', 'GET']);
  });

  it('answers BACKEND_AUTH for a wrong token', async () => {
    expect(await errorCode(backend({ token: 'vf_wrong' }).cancel(sim.seeds.running[0]!, ctx()))).toBe('BACKEND_AUTH');
  });

  it('re-reads after an unclassified 4xx: still running -> BACKEND_REJECTED, finished -> already_terminal', async () => {
    // A proxy in front of the simulation refuses every cancel with `refuse` and passes reads through.
    let refuse = 422;
    let advanceOnRefuse = 0;
    const proxy = await startSimServer(async (req) => {
      if (req.method === 'POST') {
        clock.advance(advanceOnRefuse);
        return { status: refuse, json: { error: { code: 'refused', message: 'cannot cancel right now' } } };
      }
      const res = await fetch(`${sim.baseUrl}${req.path}`, { headers: { authorization: String(req.headers.authorization) } });
      return { status: res.status, text: await res.text(), headers: { 'content-type': 'application/json' } };
    });
    try {
      const b = backend({ base_url: proxy.url });
      const id = sim.seeds.running[0]!;
      expect(await errorCode(b.cancel(id, ctx()))).toBe('BACKEND_REJECTED');
      expect(proxy.requests.map((q) => q.method)).toEqual(['GET', 'POST', 'GET']);
      // The job ends while the refusal travels back: the re-read classifies it.
      refuse = 400;
      advanceOnRefuse = 2_000;
      const racing = sim.addJob({ status: 'working', runsForMs: 1_000, ending: 'failed' });
      expect(await b.cancel(racing, ctx())).toMatchObject({
        outcome: 'already_terminal',
        status_before: 'running',
        status_after: 'failed',
      });
    } finally {
      await proxy.close();
    }
  });
});

describe('project-runtime adapter: ids and failures', () => {
  it('rejects hostile and non-UUID ids before any request', async () => {
    const b = backend();
    for (const id of ['', '../x', '%2F', 'job123', `${'0'.repeat(8)}-0000-4000-8000-000000000000/../x`, 'a'.repeat(10_000)]) {
      expect(b.validateJobId(id)).toMatch(/\.$/);
      expect(await errorCode(b.getStatus(id, ctx()))).toBe('INVALID_ARGUMENT');
      expect(await errorCode(b.cancel(id, ctx()))).toBe('INVALID_ARGUMENT');
    }
    expect(sim.server.requests).toHaveLength(0);
  });

  it('answers BACKEND_UNAVAILABLE when the runtime is down, hangs, answers garbage or a wrong shape', async () => {
    const id = sim.seeds.running[0]!;
    const down = backend({ base_url: `http://127.0.0.1:${await closedPort()}` });
    expect(await errorCode(down.getStatus(id, ctx()))).toBe('BACKEND_UNAVAILABLE');
    const b = backend({}, { timeoutMs: 200 });
    sim.server.setFault({ kind: 'hang' });
    expect(await errorCode(b.getStatus(id, ctx()))).toBe('BACKEND_UNAVAILABLE');
    sim.server.setFault({ kind: 'garbage' });
    expect(await errorCode(b.getStatus(id, ctx()))).toBe('BACKEND_UNAVAILABLE');
    sim.server.setFault({ kind: 'status', status: 200, body: '{"id":"x"}' });
    expect(await errorCode(b.getStatus(id, ctx()))).toBe('BACKEND_UNAVAILABLE');
    sim.server.setFault({ kind: 'status', status: 503, body: '' });
    expect(await errorCode(b.cancel(id, ctx()))).toBe('BACKEND_UNAVAILABLE');
  });

  it('answers RATE_LIMITED with the retry-after of a 429', async () => {
    sim.server.setFault({ kind: 'status', status: 429, body: '' });
    try {
      await backend().getStatus(sim.seeds.running[0]!, ctx());
      expect.unreachable();
    } catch (e) {
      expect(isBackendError(e) && e.code).toBe('RATE_LIMITED');
    }
  });
});

// The rest of this (a read or a cancel answered about another job), unknown jobs, an unreachable or
// hanging runtime, cancel's idempotence, error bodies and credentials, and listing the simulation while
// jobs are created: the backend contract suite (test/backends/contract/).
describe('project-runtime adapter: an answer about another job is never taken as this one', () => {
  it('accepts its own id in another case (the runtime may canonicalise a UUID)', async () => {
    const id = sim.seeds.running[0]!;
    sim.server.setFault({ kind: 'status', status: 200, body: JSON.stringify({ id: id.toUpperCase(), status: 'working' }) });
    expect((await backend().getStatus(id, ctx())).status).toBe('running');
  });
});

describe('project-runtime adapter: list_jobs', () => {
  const HOUR = 3_600_000;
  const T0 = Date.parse('2026-11-01T12:00:00Z');
  const CYCLE = ['submitted', 'working', 'completed', 'failed', 'canceled'] as const;
  const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
  const fakes: SimServer[] = [];
  afterEach(async () => {
    await Promise.all(fakes.splice(0).map((f) => f.close()));
  });

  /** Job `n` of a scripted runtime: created n hours after T0, its status cycling through the vocabulary. */
  const jobOf = (n: number): Record<string, unknown> => ({
    id: uuid(n),
    name: `job ${n}`,
    status: CYCLE[n % CYCLE.length],
    target: 'task:knowledge-ingest',
    created_at: new Date(T0 + n * HOUR).toISOString(),
  });
  /** Jobs 1..n, newest first, as the runtime lists them. */
  const jobsUpTo = (n: number) => Array.from({ length: n }, (_, i) => jobOf(n - i));

  /**
   * A scripted runtime serving `GET /projects/dreamy-haven/jobs?cursor&limit&status` from `jobs` (newest
   * first, read on every request so a test can add jobs), paged by key: a cursor names the last job of the
   * page before. `nextAsUrl`: page_info.next is a next-page URL rather than the bare cursor.
   */
  async function fakeRuntime(jobs: Record<string, unknown>[], options: { nextAsUrl?: boolean } = {}): Promise<SimServer> {
    const server = await startSimServer((req) => {
      if (req.path !== '/projects/dreamy-haven/jobs')
        return { status: 404, json: { error: { code: 'not_found', message: 'Route not found' } } };
      if (req.headers.authorization !== `Bearer ${TOKEN}`)
        return { status: 401, json: { error: { code: 'unauthorized', message: 'Missing or invalid bearer token' } } };
      const limit = Number(req.query.get('limit') ?? '20');
      const status = req.query.get('status');
      const cursor = req.query.get('cursor');
      const matching = jobs.filter((j) => status === null || j.status === status);
      const start = cursor === null ? 0 : matching.findIndex((j) => `after:${String(j.id)}` === cursor) + 1;
      if (cursor !== null && start === 0)
        return { status: 400, json: { error: { code: 'validation_error', message: 'cursor is not a valid cursor' } } };
      const data = matching.slice(start, start + limit);
      const next = start + limit < matching.length ? `after:${String(data.at(-1)!.id)}` : null;
      const nextField =
        next !== null && options.nextAsUrl
          ? `https://api.veryfront.com/projects/dreamy-haven/jobs?cursor=${encodeURIComponent(next)}&limit=${limit}`
          : next;
      return { status: 200, json: { data, page_info: { self: cursor, first: null, next: nextField, prev: null } } };
    });
    fakes.push(server);
    return server;
  }
  const listRequests = (server: SimServer) => server.requests.filter((r) => r.path === '/projects/dreamy-haven/jobs');

  it("pages through every job once, newest first, passing the runtime's cursor back", async () => {
    const fake = await fakeRuntime(jobsUpTo(11));
    const { jobs, pages } = await listAll(backend({ base_url: fake.url }), { limit: 3 });
    expect(jobs.map((j) => j.job_id)).toEqual(jobsUpTo(11).map((j) => j.id));
    expectEachOnceNewestFirst(jobs);
    expect(pages.map((p) => p.jobs.length)).toEqual([3, 3, 3, 2]);
    expect(jobs.slice(0, 5).map((j) => j.status)).toEqual(['running', 'queued', 'cancelled', 'failed', 'succeeded']);
    expect(listRequests(fake).map((r) => Object.fromEntries(r.query))).toEqual([
      { limit: '3' },
      { limit: '3', cursor: `after:${uuid(9)}` },
      { limit: '3', cursor: `after:${uuid(6)}` },
      { limit: '3', cursor: `after:${uuid(3)}` },
    ]);
  });

  it('takes the cursor out of a next-page URL', async () => {
    const fake = await fakeRuntime(jobsUpTo(7), { nextAsUrl: true });
    const { jobs } = await listAll(backend({ base_url: fake.url }), { limit: 3 });
    expect(jobs.map((j) => j.job_id)).toEqual(jobsUpTo(7).map((j) => j.id));
    expect(listRequests(fake).map((r) => r.query.get('cursor'))).toEqual([null, `after:${uuid(5)}`, `after:${uuid(2)}`]);
  });

  it('neither repeats nor lists jobs created while paging', async () => {
    const all = jobsUpTo(10);
    const before = all.map((j) => j.id);
    const fake = await fakeRuntime(all);
    let n = 10;
    const { jobs } = await listAll(backend({ base_url: fake.url }), { limit: 4 }, () => {
      all.unshift(jobOf(++n), jobOf(++n));
    });
    expect(jobs.map((j) => j.job_id)).toEqual(before);
  });

  it('pages through the simulation with its page_info.next cursors', async () => {
    const added = Array.from({ length: 6 }, () => {
      clock.advance(HOUR);
      return sim.addJob({ status: 'completed' });
    });
    const { jobs, pages } = await listAll(backend(), { limit: 4 });
    expect(jobs).toHaveLength(13); // 7 seeds and 6 added
    expectEachOnceNewestFirst(jobs);
    expect(jobs.slice(0, 6).map((j) => j.job_id)).toEqual([...added].reverse());
    expect(new Set(jobs.slice(6).map((j) => j.job_id))).toEqual(new Set(Object.values(sim.seeds).flat()));
    expect(pages).toHaveLength(4);
    expect(sim.server.requests.slice(1).every((r) => r.query.has('cursor'))).toBe(true);
  });

  it('sends a status that is one runtime word to the runtime', async () => {
    const fake = await fakeRuntime(jobsUpTo(20));
    const b = backend({ base_url: fake.url });
    for (const [status, word] of [
      ['queued', 'submitted'],
      ['running', 'working'],
      ['succeeded', 'completed'],
      ['failed', 'failed'],
      ['cancelled', 'canceled'],
    ] as const) {
      const { jobs } = await listAll(b, { statuses: [status], limit: 3 });
      expect(jobs.map((j) => j.job_id)).toEqual(
        jobsUpTo(20)
          .filter((j) => j.status === word)
          .map((j) => j.id),
      );
      const sent = listRequests(fake).slice(-2);
      expect(sent.map((r) => [r.query.get('status'), r.query.get('limit')])).toEqual([
        [word, '3'],
        [word, '3'],
      ]);
    }
  });

  it('lists two statuses unfiltered and filters here, each job once across pages and runtime pages', async () => {
    const all = jobsUpTo(130);
    const wanted = all.filter((j) => j.status === 'submitted' || j.status === 'working').map((j) => j.id);
    expect(wanted).toHaveLength(52);
    const fake = await fakeRuntime(all);
    const { jobs } = await listAll(backend({ base_url: fake.url }), { statuses: ['queued', 'running'], limit: 7 });
    expect(jobs.map((j) => j.job_id)).toEqual(wanted);
    for (const r of listRequests(fake)) {
      expect(r.query.has('status')).toBe(false);
      expect(r.query.get('limit')).toBe('100');
    }
    // The second runtime page was needed (jobs past the first 100).
    expect(listRequests(fake).some((r) => r.query.get('cursor') === `after:${uuid(31)}`)).toBe(true);
  });

  it('filtering here, neither repeats nor lists jobs created while paging', async () => {
    // A page filtered here can end inside the runtime's first page, which newer jobs push down.
    const all = jobsUpTo(30);
    const wanted = all.filter((j) => j.status === 'submitted' || j.status === 'working').map((j) => j.id);
    const fake = await fakeRuntime(all);
    let n = 30;
    const { jobs } = await listAll(backend({ base_url: fake.url }), { statuses: ['queued', 'running'], limit: 3 }, () => {
      all.unshift(jobOf(++n), jobOf(++n));
    });
    expect(jobs.map((j) => j.job_id)).toEqual(wanted);
  });

  it("answers BACKEND_UNAVAILABLE for garbage, a wrong shape, an item without an id and 5xx, never with the runtime's words", async () => {
    const fake = await fakeRuntime(jobsUpTo(3));
    const b = backend({ base_url: fake.url });
    const MARK = 'BODY-WORD-4242';
    fake.setFault({ kind: 'garbage' });
    await expectFailure(b.list(listQuery()), 'BACKEND_UNAVAILABLE', ['<html', 'upstream proxy error']);
    for (const body of [
      JSON.stringify({ data: [{ status: 'working', name: MARK }], page_info: { next: null } }), // no id
      JSON.stringify({ data: [{ id: uuid(1), name: MARK }] }), // no status
      JSON.stringify({ data: { id: uuid(1), status: 'working', name: MARK } }), // one job, not a list
      JSON.stringify({ id: uuid(1), status: 'working', name: MARK }), // a Job, not a list
      JSON.stringify({ jobs: [{ id: uuid(1), status: 'working', name: MARK }] }),
      JSON.stringify({ data: [], page_info: { next: 42 } }),
    ]) {
      fake.setFault({ kind: 'status', status: 200, body });
      await expectFailure(b.list(listQuery()), 'BACKEND_UNAVAILABLE', [MARK]);
    }
    fake.setFault({ kind: 'status', status: 500, body: `{"error":{"message":"db down at ${MARK}"}}` });
    await expectFailure(b.list(listQuery()), 'BACKEND_UNAVAILABLE', [MARK, 'db down']);
  });

  it("answers BACKEND_AUTH for a 401 or 403, never with the runtime's words", async () => {
    await expectFailure(backend({ token: 'vf_wrong' }).list(listQuery()), 'BACKEND_AUTH', ['bearer token']);
    sim.addJob({ project: 'someone-elses', status: 'working' });
    await expectFailure(backend({ remote_project: 'someone-elses' }).list(listQuery()), 'BACKEND_AUTH', ['someone-elses', 'no access']);
    sim.server.setFault({ kind: 'status', status: 401, body: `invalid credential: Bearer ${TOKEN}` });
    await expectFailure(backend().list(listQuery()), 'BACKEND_AUTH', [TOKEN, 'invalid credential']);
  });

  it('answers INVALID_ARGUMENT for a position it did not give, before any request', async () => {
    const b = backend();
    for (const position of [
      'after:x',
      7,
      null,
      [],
      {},
      { offset: 0 },
      { cursor: 'a' },
      { cursor: 5, skip: 0 },
      { cursor: 'a', skip: -1 },
      { cursor: 'a', skip: 1.5 },
      { cursor: 'a', skip: 101 },
      { cursor: 'a', skip: 0, more: 1 },
      { cursor: 'x'.repeat(3_000), skip: 0 },
    ]) {
      const e = await expectFailure(b.list(listQuery({ position })), 'INVALID_ARGUMENT');
      expect(e.message).toMatch(/cursor/);
    }
    expect(sim.server.requests).toHaveLength(0);
  });

  it('gives each listed job its name and details, and nothing outside the schema', async () => {
    const { jobs } = await listAll(backend());
    expect(jobs).toHaveLength(7);
    for (const j of jobs) {
      expect(j.name).toMatch(/^(Nightly knowledge ingest|Full re-index)$/);
      expect(projectRuntimeDetailsSchema.parse(j.details)).toMatchObject({
        target: 'task:knowledge-ingest',
        timeout_seconds: 3600,
        backoff_limit: 2,
      });
    }
  });
});

describe('project-runtime adapter: name and details of status and cancel reports', () => {
  it('reports the name and the documented fields that are set', async () => {
    const b = backend();
    const failed = await b.getStatus(sim.seeds.failed[0]!, ctx());
    expect(failed.name).toBe('Nightly knowledge ingest');
    expect(projectRuntimeDetailsSchema.parse(failed.details)).toEqual({
      target: 'task:knowledge-ingest',
      exit_code: 1,
      failed_reason: 'BackoffLimitExceeded',
      timeout_seconds: 3600,
      backoff_limit: 2,
    });
    const done = await b.getStatus(sim.seeds.succeeded[0]!, ctx());
    expect(projectRuntimeDetailsSchema.parse(done.details)).toEqual({
      target: 'task:knowledge-ingest',
      exit_code: 0,
      timeout_seconds: 3600,
      backoff_limit: 2,
      result_state: 'success',
    });
    expect((await b.getStatus(sim.seeds.long_running[0]!, ctx())).name).toBe('Full re-index');
  });

  it('cuts the name and long strings at 200 characters', async () => {
    const id = sim.addJob({ status: 'working', name: 'n'.repeat(300), target: `workflow:${'t'.repeat(300)}` });
    const r = await backend().getStatus(id, ctx());
    expect(r.name).toBe('n'.repeat(MAX_DETAIL_CHARS));
    expect(projectRuntimeDetailsSchema.parse(r.details).target).toBe(`workflow:${'t'.repeat(MAX_DETAIL_CHARS - 'workflow:'.length)}`);
  });

  it('passes on only the documented fields, and only values the schema holds', async () => {
    const id = sim.seeds.running[0]!;
    sim.server.setFault({
      kind: 'status',
      status: 200,
      body: JSON.stringify({
        id,
        status: 'working',
        name: 'ingest',
        target: 'task:knowledge-ingest',
        environment_id: 'e'.repeat(250),
        branch_id: 'main',
        batch_id: 12,
        cron_job_id: '',
        exit_code: null,
        timeout_seconds: -1,
        backoff_limit: -2,
        config: { secret: 's' },
        created_by: 'someone',
        project_id: 'p',
      }),
    });
    const r = await backend().getStatus(id, ctx());
    expect(projectRuntimeDetailsSchema.safeParse(r.details).success, JSON.stringify(r.details)).toBe(true);
    expect(r.details).toEqual({
      target: 'task:knowledge-ingest',
      environment_id: 'e'.repeat(MAX_DETAIL_CHARS),
      branch_id: 'main',
      batch_id: '12',
    });
  });

  it('carries the name and details on cancel reports: cancelled, cancel_requested, already_terminal; none for not_found', async () => {
    const b = backend();
    for (const [id, outcome] of [
      [sim.seeds.queued[0]!, 'cancelled'],
      [sim.seeds.running[0]!, 'cancel_requested'],
      [sim.seeds.failed[0]!, 'already_terminal'],
    ] as const) {
      const r = await b.cancel(id, ctx());
      expect(r.outcome).toBe(outcome);
      expect(r.name).toBe('Nightly knowledge ingest');
      expect(projectRuntimeDetailsSchema.parse(r.details)).toMatchObject({ target: 'task:knowledge-ingest', timeout_seconds: 3600 });
    }
    const missing = await b.cancel('00000000-0000-4000-8000-000000000000', ctx());
    expect(missing.outcome).toBe('not_found');
    expect(missing).not.toHaveProperty('name');
    expect(missing).not.toHaveProperty('details');
  });
});
