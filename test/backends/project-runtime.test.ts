import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createProjectRuntimeBackend } from '../../src/backends/project-runtime.ts';
import type { ProjectRuntimeBackendConfig } from '../../src/config/schema.ts';
import { isBackendError } from '../../src/jobs/backend-error.ts';
import type { JobBackend } from '../../src/jobs/backend.ts';
import { ManualClock } from '../../src/sandbox/clock.ts';
import { startProjectRuntimeSim, type ProjectRuntimeSim } from '../../src/sandbox/project-runtime.ts';
import { startSimServer } from '../../src/sandbox/sim-server.ts';
import { freePort as closedPort } from '../helpers/ports.ts';
import { TickingClock, errorCode, ctx } from '../helpers/backend-calls.ts';
import { backendFailures, callThroughService, expectFailureSeen } from '../helpers/tool-errors.ts';

const TOKEN = 'vf_test_token';


let clock: ManualClock;
let sim: ProjectRuntimeSim;
const backends: JobBackend[] = [];

function backend(overrides: Partial<ProjectRuntimeBackendConfig> = {}, options: { projectReference?: string; timeoutMs?: number } = {}): JobBackend {
  const config: ProjectRuntimeBackendConfig = { kind: 'project_runtime', base_url: sim.baseUrl, token: TOKEN, remote_project: 'dreamy-haven', ...overrides };
  const b = createProjectRuntimeBackend(config, { name: 'site-x', projectReference: options.projectReference ?? 'site-x', timeoutMs: options.timeoutMs ?? 2_000 });
  backends.push(b);
  return b;
}

beforeEach(async () => {
  clock = new ManualClock();
  sim = await startProjectRuntimeSim({ token: TOKEN, projects: ['dreamy-haven', 'second-site'], clock });
});
afterEach(async () => {
  await Promise.all(backends.splice(0).map((b) => b.close?.()));
  await sim.close();
});

describe('project-runtime adapter: get_job_status', () => {
  it('maps every seeded state', async () => {
    const b = backend();
    const expected = { queued: 'queued', running: 'running', long_running: 'running', succeeded: 'succeeded', failed: 'failed', cancelled: 'cancelled' } as const;
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

  it('reports unknown ids and other projects\' jobs as not found', async () => {
    const b = backend();
    expect(await b.getStatus('00000000-0000-4000-8000-000000000000', ctx())).toEqual({ found: false, status: 'unknown', raw_status: null });
    const elsewhere = sim.addJob({ project: 'second-site', status: 'working' });
    expect((await b.getStatus(elsewhere, ctx())).found).toBe(false);
  });

  it('answers BACKEND_AUTH for a wrong token and for a project the token cannot access', async () => {
    expect(await errorCode(backend({ token: 'vf_wrong' }).getStatus(sim.seeds.running[0]!, ctx()))).toBe('BACKEND_AUTH');
    const id = sim.addJob({ project: 'someone-elses', status: 'working' });
    expect(await errorCode(backend({ remote_project: 'someone-elses' }).getStatus(id, ctx()))).toBe('BACKEND_AUTH');
  });
});

describe('project-runtime adapter: cancel_job', () => {
  it('cancels a submitted job at once', async () => {
    const id = sim.seeds.queued[0]!;
    const r = await backend().cancel(id, ctx());
    expect(r).toMatchObject({ outcome: 'cancelled', status_before: 'queued', status_after: 'cancelled' });
    expect(sim.server.requests.map((q) => `${q.method} ${q.path}`)).toEqual([
      `GET /projects/dreamy-haven/jobs/${id}`,
      `POST /projects/dreamy-haven/jobs/${id}/cancel`,
    ]);
  });

  it('reports cancel_requested for a working job, cancelled once it stops, then already_terminal', async () => {
    const b = backend();
    const id = sim.seeds.running[0]!;
    expect(await b.cancel(id, ctx())).toMatchObject({ outcome: 'cancel_requested', status_before: 'running', status_after: 'running' });
    clock.advance(6_000);
    expect((await b.getStatus(id, ctx())).status).toBe('cancelled');
    const posts = () => sim.server.requests.filter((q) => q.method === 'POST').length;
    const n = posts();
    expect(await b.cancel(id, ctx())).toMatchObject({ outcome: 'already_terminal', status_before: 'cancelled', status_after: 'cancelled' });
    expect(posts()).toBe(n);
  });

  it('answers already_terminal for finished jobs without calling cancel', async () => {
    const b = backend();
    for (const [id, status] of [
      [sim.seeds.succeeded[0]!, 'succeeded'],
      [sim.seeds.failed[0]!, 'failed'],
      [sim.seeds.cancelled[0]!, 'cancelled'],
    ] as const) {
      expect(await b.cancel(id, ctx())).toMatchObject({ outcome: 'already_terminal', status_after: status });
    }
    expect(sim.server.requests.some((q) => q.method === 'POST')).toBe(false);
  });

  it('turns a 409 (finished between the read and the cancel) into already_terminal after a read', async () => {
    await sim.close();
    sim = await startProjectRuntimeSim({ token: TOKEN, projects: ['dreamy-haven'], clock: new TickingClock(1_000), seed: false });
    // addJob reads the clock at t0; the status read sees t0+1s, the cancel t0+2s, after the run ended.
    const id = sim.addJob({ status: 'working', runsForMs: 1_500 });
    expect(await backend().cancel(id, ctx())).toMatchObject({ outcome: 'already_terminal', status_before: 'running', status_after: 'succeeded' });
    expect(sim.server.requests.map((q) => q.method)).toEqual(['GET', 'POST', 'GET']);
  });

  it('answers not_found for unknown ids and other projects\' jobs, without calling cancel', async () => {
    const b = backend();
    expect(await b.cancel('00000000-0000-4000-8000-000000000000', ctx())).toMatchObject({ outcome: 'not_found', status_after: 'unknown' });
    const elsewhere = sim.addJob({ project: 'second-site', status: 'working' });
    expect(await b.cancel(elsewhere, ctx())).toMatchObject({ outcome: 'not_found' });
    expect(sim.job(elsewhere)!.status).toBe('working');
    expect(sim.server.requests.some((q) => q.method === 'POST')).toBe(false);
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
      const racing = sim.addJob({ status: 'working', runsForMs: 1_000, outcome: 'failed' });
      expect(await b.cancel(racing, ctx())).toMatchObject({ outcome: 'already_terminal', status_before: 'running', status_after: 'failed' });
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

describe('project-runtime adapter: a backend failure reaches the caller as a fixed sentence, its words only the log', () => {
  const SECRET = 'vf_live_SECRET-7777';

  for (const f of backendFailures(SECRET)) {
    it(`${f.what}: ${f.code} naming the backend and the request id; the log has the redacted words`, async () => {
      sim.server.setFault({ kind: 'status', status: f.status, body: f.body });
      const id = sim.seeds.running[0]!;
      for (const tool of ['get_job_status', 'cancel_job'] as const) {
        const seen = await callThroughService(backend({ token: SECRET }), tool, id);
        expectFailureSeen(seen, f, { tool, backend: 'site-x', kind: 'project_runtime', secret: SECRET });
      }
      expect(sim.server.requests.some((q) => q.method === 'POST')).toBe(false);
    });
  }
});

describe('project-runtime adapter: an answer about another job is never taken as this one', () => {
  const OTHER = '0badf00d-0000-4000-8000-00000000beef';

  it('get_job_status answers BACKEND_UNAVAILABLE, with no status and nothing of the other record', async () => {
    sim.server.setFault({ kind: 'status', status: 200, body: JSON.stringify({ id: OTHER, status: 'completed', failed_reason: 'theirs' }) });
    const seen = await callThroughService(backend(), 'get_job_status', sim.seeds.running[0]!);
    expect(seen.error?.code).toBe('BACKEND_UNAVAILABLE');
    expect(seen.error?.message).toMatch(/different job/);
    for (const word of [OTHER, 'completed', 'succeeded', 'theirs']) expect(seen.callerSees).not.toContain(word);
  });

  it('accepts its own id in another case (the runtime may canonicalise a UUID)', async () => {
    const id = sim.seeds.running[0]!;
    sim.server.setFault({ kind: 'status', status: 200, body: JSON.stringify({ id: id.toUpperCase(), status: 'working' }) });
    expect((await backend().getStatus(id, ctx())).status).toBe('running');
  });

  it('cancel_job sends no cancel and answers BACKEND_UNAVAILABLE (not already_terminal) when the read names another job', async () => {
    const id = sim.seeds.running[0]!;
    sim.server.setFault({ kind: 'status', status: 200, body: JSON.stringify({ id: OTHER, status: 'completed' }) });
    const seen = await callThroughService(backend(), 'cancel_job', id);
    expect(seen.error?.code).toBe('BACKEND_UNAVAILABLE');
    expect(seen.result.structuredContent).not.toHaveProperty('outcome');
    expect(sim.server.requests.map((q) => q.method)).toEqual(['GET']);
    sim.server.setFault(null);
    expect(sim.job(id)!.status).toBe('working');
  });

  it('cancel_job claims nothing when the cancel answer is another job', async () => {
    const proxy = await startSimServer(async (req) => {
      if (req.method === 'POST') return { status: 200, json: { id: OTHER, status: 'canceled' } };
      const res = await fetch(`${sim.baseUrl}${req.path}`, { headers: { authorization: String(req.headers.authorization) } });
      return { status: res.status, text: await res.text(), headers: { 'content-type': 'application/json' } };
    });
    try {
      const b = backend({ base_url: proxy.url });
      expect(await errorCode(b.cancel(sim.seeds.running[0]!, ctx()))).toBe('BACKEND_UNAVAILABLE');
      expect(proxy.requests.map((q) => q.method)).toEqual(['GET', 'POST']);
    } finally {
      await proxy.close();
    }
  });
});
