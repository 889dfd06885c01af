import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createComfycontrolBackend } from '../../../src/backends/comfycontrol/profile.ts';
import type { ComfycontrolBackendConfig } from '../../../src/backends/comfycontrol/config.ts';
import { isBackendError, type BackendError } from '../../../src/jobs/backend-error.ts';
import type { JobBackend } from '../../../src/jobs/backend.ts';
import { comfycontrolDetailsSchema } from '../../../src/backends/comfycontrol/details.ts';
import { MAX_DETAIL_CHARS } from '../../../src/jobs/details.ts';
import { ManualClock } from '../../../src/simulation/clock.ts';
import { createMemoryStore } from '../../../src/state/memory-store.ts';
import type { StateStore } from '../../../src/state/store.ts';
import {
  startComfycontrolSim,
  type ComfycontrolSim,
  type ComfycontrolSimOptions,
  type ComfycontrolStatus,
} from '../../../src/backends/comfycontrol/simulation/server.ts';
import { freePort as closedPort } from '../../../scripts/tools/ports.ts';
import { TickingClock, ctx, errorCode } from '../../helpers/backend-calls.ts';
import { expectEachOnceNewestFirst, expectFailure, listAll, listQuery } from '../../helpers/list-calls.ts';
import { callThroughService } from '../../helpers/tool-errors.ts';

const TOKEN = 'cfc_test_token';

async function failure(p: Promise<unknown>): Promise<BackendError | string> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    return isBackendError(e) ? e : `not a BackendError: ${String(e)}`;
  }
}

let clock: ManualClock;
let sim: ComfycontrolSim;
const backends: JobBackend[] = [];

function backend(overrides: Partial<ComfycontrolBackendConfig> = {}, timeoutMs = 2_000, state?: StateStore): JobBackend {
  const config: ComfycontrolBackendConfig = {
    kind: 'comfycontrol',
    base_url: sim.baseUrl,
    token: TOKEN,
    rate_limit: { requests: 40, per_seconds: 10 },
    ...overrides,
  };
  const b = createComfycontrolBackend(config, {
    name: 'cloud-renders',
    projectReference: 'cloud-renders',
    timeoutMs,
    now: () => clock.now(),
    state: state ?? createMemoryStore(),
  });
  backends.push(b);
  return b;
}

async function restartSim(options: Partial<ComfycontrolSimOptions> = {}): Promise<void> {
  await sim.close();
  sim = await startComfycontrolSim({ token: TOKEN, clock, ...options });
}

beforeEach(async () => {
  clock = new ManualClock();
  sim = await startComfycontrolSim({ token: TOKEN, clock });
});
afterEach(async () => {
  await Promise.all(backends.splice(0).map(async (b) => b.close?.()));
  await sim.close();
});

describe('comfycontrol adapter: get_job_status', () => {
  it('maps every seeded state, accepted and invalid included', async () => {
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
        expect(await b.getStatus(id, ctx())).toMatchObject({ found: true, status, raw_status: sim.job(id)!.status });
      }
    }
    expect(await b.getStatus(sim.extraSeeds.accepted[0]!, ctx())).toMatchObject({ status: 'queued', raw_status: 'accepted' });
    const invalid = await b.getStatus(sim.extraSeeds.invalid[0]!, ctx());
    expect(invalid).toMatchObject({ status: 'failed', raw_status: 'invalid', error: { type: 'invalid' } });
  });

  it('reports the failing node, exception type and message, and the times', async () => {
    const r = await backend().getStatus(sim.seeds.failed[0]!, ctx());
    expect(r.error).toEqual({ message: 'CUDA out of memory. Tried to allocate 2.00 GiB', type: 'torch.OutOfMemoryError', node: '3' });
    expect(r.created_at).toMatch(/Z$/);
    expect(r.started_at).toMatch(/Z$/);
    expect(r.completed_at).toMatch(/Z$/);
    const running = await backend().getStatus(sim.seeds.running[0]!, ctx());
    expect(running.error).toBeUndefined();
    expect(running.completed_at).toBeUndefined();
  });

  it('answers BACKEND_AUTH for a wrong token', async () => {
    expect(await errorCode(backend({ token: 'cfc_wrong' }).getStatus(sim.seeds.running[0]!, ctx()))).toBe('BACKEND_AUTH');
  });
});

describe('comfycontrol adapter: cancel_job', () => {
  it('cancel is asynchronous: cancel_requested, cancelled after a few seconds, then already_terminal', async () => {
    const b = backend();
    const id = sim.seeds.running[0]!;
    const r = await b.cancel(id, ctx());
    expect(r).toMatchObject({ outcome: 'cancel_requested', status_before: 'running', status_after: 'running' });
    expect(sim.server.requests.map((q) => `${q.method} ${q.path}`)).toEqual([
      `GET /v1/workflow/${id}`,
      `POST /v1/workflow/${id}/cancel`,
      `GET /v1/workflow/${id}`,
    ]);
    clock.advance(6_000);
    expect((await b.getStatus(id, ctx())).status).toBe('cancelled');
    const posts = sim.server.requests.filter((q) => q.method === 'POST').length;
    expect(await b.cancel(id, ctx())).toMatchObject({ outcome: 'already_terminal', status_before: 'cancelled', status_after: 'cancelled' });
    expect(sim.server.requests.filter((q) => q.method === 'POST').length).toBe(posts);
  });

  it('reports a workflow that completes before the stop as succeeded', async () => {
    const b = backend();
    const id = sim.addJob({ status: 'running', remainingMs: 1_000 });
    expect((await b.cancel(id, ctx())).outcome).toBe('cancel_requested');
    clock.advance(10_000);
    expect((await b.getStatus(id, ctx())).status).toBe('succeeded');
    expect(await b.cancel(id, ctx())).toMatchObject({ outcome: 'already_terminal', status_after: 'succeeded' });
  });

  it('answers not_cancellable for accepted and uploaded workflows (400, then a read)', async () => {
    const b = backend();
    const uploaded = sim.addJob({ status: 'uploaded', remainingMs: null });
    for (const [id, raw] of [
      [sim.extraSeeds.accepted[0]!, 'accepted'],
      [uploaded, 'uploaded'],
    ] as const) {
      const before = sim.server.requests.length;
      expect(await b.cancel(id, ctx())).toMatchObject({ outcome: 'not_cancellable', status_before: 'queued', status_after: 'queued' });
      expect(sim.server.requests.slice(before).map((q) => q.method)).toEqual(['GET', 'POST', 'GET']);
      expect(sim.job(id)!.status).toBe(raw);
    }
  });

  it('answers already_terminal for finished workflows without calling cancel', async () => {
    const b = backend();
    for (const [id, status] of [
      [sim.seeds.succeeded[0]!, 'succeeded'],
      [sim.seeds.failed[0]!, 'failed'],
      [sim.seeds.cancelled[0]!, 'cancelled'],
      [sim.extraSeeds.invalid[0]!, 'failed'],
    ] as const) {
      expect(await b.cancel(id, ctx())).toMatchObject({ outcome: 'already_terminal', status_after: status });
    }
    expect(sim.server.requests.some((q) => q.method === 'POST')).toBe(false);
  });

  it('turns a 400 for a workflow that finished between the read and the cancel into already_terminal', async () => {
    await sim.close();
    sim = await startComfycontrolSim({ token: TOKEN, clock: new TickingClock(1_000), seed: false });
    // addJob reads the clock at t0; the status read sees t0+1s, the cancel t0+2s, after the run ended.
    const id = sim.addJob({ status: 'running', remainingMs: 1_500, ending: 'failed' });
    expect(await backend().cancel(id, ctx())).toMatchObject({
      outcome: 'already_terminal',
      status_before: 'running',
      status_after: 'failed',
    });
    expect(sim.server.requests.map((q) => q.method)).toEqual(['GET', 'POST', 'GET']);
  });

  it('answers BACKEND_UNAVAILABLE when the runner cannot be reached (500)', async () => {
    const id = sim.addJob({ status: 'running', runnerUnreachable: true });
    expect(await errorCode(backend().cancel(id, ctx()))).toBe('BACKEND_UNAVAILABLE');
  });

  it('answers BACKEND_AUTH for a wrong token', async () => {
    expect(await errorCode(backend({ token: 'cfc_wrong' }).cancel(sim.seeds.running[0]!, ctx()))).toBe('BACKEND_AUTH');
  });
});

describe('comfycontrol adapter: rate limit', () => {
  // The budget is counted by rate-limiter-flexible, which reads Date: time moves for it and for the
  // simulation (its own sliding-window limit) together.
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'], now: clock.now() });
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  const advance = (ms: number) => {
    clock.advance(ms);
    vi.setSystemTime(clock.now());
  };

  it('never makes ComfyControl answer 429 under a burst: its own budget answers RATE_LIMITED first', async () => {
    const b = backend();
    const id = sim.seeds.running[0]!;
    const results = await Promise.all(Array.from({ length: 60 }, () => failure(b.getStatus(id, ctx()))));
    const ok = results.filter((r) => r === 'resolved').length;
    const limited = results.filter((r) => typeof r !== 'string' && r.code === 'RATE_LIMITED') as BackendError[];
    expect(ok).toBe(40);
    expect(limited).toHaveLength(20);
    expect(limited.every((e) => (e.retryAfterSeconds ?? 0) > 0)).toBe(true);
    expect(sim.server.requests).toHaveLength(40);
    expect(sim.rateLimitedResponses).toBe(0);
    // Cancels are budgeted too.
    expect(await errorCode(b.cancel(id, ctx()))).toBe('RATE_LIMITED');
    expect(sim.server.requests).toHaveLength(40);
    // Once the window has passed, calls go through again.
    advance(11_000);
    expect((await b.getStatus(id, ctx())).status).toBe('running');
    expect(sim.rateLimitedResponses).toBe(0);
  });

  it('keeps to the budget across a mix of reads and cancels spread over time', async () => {
    const b = backend();
    for (let step = 0; step < 30; step++) {
      await Promise.all([
        failure(b.getStatus(sim.seeds.running[0]!, ctx())),
        failure(b.cancel(sim.seeds.succeeded[0]!, ctx())),
        failure(b.getStatus(sim.seeds.queued[0]!, ctx())),
      ]);
      advance(700);
    }
    expect(sim.rateLimitedResponses).toBe(0);
  });

  it('uses the configured budget', async () => {
    const b = backend({ rate_limit: { requests: 3, per_seconds: 5 } });
    const id = sim.seeds.running[0]!;
    for (let i = 0; i < 3; i++) await b.getStatus(id, ctx());
    const f = await failure(b.getStatus(id, ctx()));
    expect(typeof f !== 'string' && f.code).toBe('RATE_LIMITED');
    expect(sim.server.requests).toHaveLength(3);
  });

  it('never lets more than `requests` reach ComfyControl in any window of `per_seconds`, and spends the whole budget', async () => {
    // Fixed windows would let 2 x 5 through around a boundary; the sliding count of the simulation
    // (429 past 5 in any 2 s) and the count below would both see it.
    await restartSim({ rateLimit: { requests: 5, perSeconds: 2, cooldownSeconds: 10 } });
    const b = backend({ rate_limit: { requests: 5, per_seconds: 2 } });
    const arrivals: { at: number; count: number }[] = [];
    const stepMs = 97; // not a divisor of any window: steps land all over the window boundaries
    const started = clock.now();
    for (let step = 0; step < 200; step++) {
      const before = sim.server.requests.length;
      await Promise.all([
        failure(b.getStatus(sim.seeds.running[0]!, ctx())),
        failure(b.getStatus(sim.seeds.succeeded[0]!, ctx())),
        failure(b.getStatus(sim.seeds.queued[0]!, ctx())),
      ]);
      arrivals.push({ at: clock.now(), count: sim.server.requests.length - before });
      advance(stepMs);
    }
    const elapsedMs = clock.now() - started;
    const busiest = Math.max(
      ...arrivals.map((a) => arrivals.filter((x) => x.at > a.at - 2_000 && x.at <= a.at).reduce((n, x) => n + x.count, 0)),
    );
    expect(busiest).toBeLessThanOrEqual(5);
    expect(sim.rateLimitedResponses).toBe(0);
    // Each request is counted for 2.5 s (the window plus the 0.5 s margin): 5 per 2.5 s, less one step of slack.
    const sent = arrivals.reduce((n, x) => n + x.count, 0);
    expect(sent).toBeGreaterThanOrEqual(5 * Math.floor(elapsedMs / (2_500 + stepMs)));
  });

  it('two replicas on one store spend one budget, and a 429 seen by one pauses the other', async () => {
    const store = createMemoryStore();
    const a = backend({}, 2_000, store);
    const b = backend({}, 2_000, store);
    const id = sim.seeds.running[0]!;
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => failure((i % 2 ? a : b).getStatus(id, ctx()))));
    expect(results.filter((r) => r === 'resolved')).toHaveLength(30);
    // Each alone would have 40; together they have 40.
    const more = await Promise.all(Array.from({ length: 30 }, (_, i) => failure((i % 2 ? b : a).getStatus(id, ctx()))));
    expect(more.filter((r) => r === 'resolved')).toHaveLength(10);
    expect(sim.server.requests).toHaveLength(40);

    advance(11_000);
    sim.server.setFault({ kind: 'status', status: 429 });
    expect(await errorCode(a.getStatus(id, ctx()))).toBe('RATE_LIMITED');
    sim.server.setFault(null);
    const sent = sim.server.requests.length;
    const seenByB = await failure(b.getStatus(id, ctx()));
    expect(seenByB).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: 10 });
    expect(typeof seenByB !== 'string' && seenByB.message).toBe(
      'Backend "cloud-renders" answered 429 recently; the gateway waits 10 s before calling it again, so retry after 10 s.',
    );
    expect(sim.server.requests.length).toBe(sent);
    advance(10_000);
    expect((await b.getStatus(id, ctx())).status).toBe('running');
  });

  it('starts a cancel only when the budget covers its read and its cancel request', async () => {
    const b = backend({ rate_limit: { requests: 3, per_seconds: 5 } });
    await b.getStatus(sim.seeds.running[0]!, ctx());
    await b.getStatus(sim.seeds.running[0]!, ctx());
    const refused = await failure(b.cancel(sim.seeds.running[0]!, ctx()));
    expect(refused).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: 6 });
    expect(typeof refused !== 'string' && refused.message).toBe(
      'The gateway\'s request budget for backend "cloud-renders" (3 requests per 5 s, ComfyControl\'s limit) is spent; retry in 6 s.',
    );
    expect(sim.server.requests).toHaveLength(2);
    // The refused cancel took nothing: the one request left is still there.
    expect((await b.getStatus(sim.seeds.running[0]!, ctx())).status).toBe('running');
    expect(sim.server.requests).toHaveLength(3);
  });

  it('after a forced 429 without Retry-After, stays quiet for 10 s', async () => {
    const b = backend();
    const id = sim.seeds.running[0]!;
    sim.server.setFault({ kind: 'status', status: 429 });
    const first = await failure(b.getStatus(id, ctx()));
    expect(typeof first !== 'string' && first.code).toBe('RATE_LIMITED');
    expect(typeof first !== 'string' && first.retryAfterSeconds).toBe(10);
    sim.server.setFault(null);
    const sent = sim.server.requests.length;
    advance(9_000);
    const during = await failure(b.getStatus(id, ctx()));
    expect(typeof during !== 'string' && during.code).toBe('RATE_LIMITED');
    expect(typeof during !== 'string' && during.retryAfterSeconds).toBe(1);
    expect(await errorCode(b.cancel(id, ctx()))).toBe('RATE_LIMITED');
    expect(sim.server.requests.length).toBe(sent);
    advance(1_000);
    expect((await b.getStatus(id, ctx())).status).toBe('running');
  });

  it('honours the Retry-After of a real 429', async () => {
    // A gateway configured with a larger budget than the real limit: ComfyControl's 429 takes over.
    await restartSim({ rateLimit: { requests: 2, perSeconds: 10, cooldownSeconds: 30 } });
    const b = backend({ rate_limit: { requests: 100, per_seconds: 10 } });
    const id = sim.seeds.running[0]!;
    await b.getStatus(id, ctx());
    await b.getStatus(id, ctx());
    const limited = await failure(b.getStatus(id, ctx()));
    expect(typeof limited !== 'string' && limited.retryAfterSeconds).toBe(30);
    expect(sim.rateLimitedResponses).toBe(1);
    advance(20_000);
    expect(await errorCode(b.getStatus(id, ctx()))).toBe('RATE_LIMITED');
    expect(sim.rateLimitedResponses).toBe(1);
    advance(10_000);
    expect((await b.getStatus(id, ctx())).status).toBe('running');
  });
});

describe('comfycontrol adapter: ids and failures', () => {
  it('rejects hostile ids before any request', async () => {
    const b = backend();
    for (const id of ['', '../x', '..', '%2F', 'a/b', 'x?y', 'x#y', ' x', 'a'.repeat(10_000)]) {
      expect(b.validateJobId(id)).toMatch(/\.$/);
      expect(await errorCode(b.getStatus(id, ctx()))).toBe('INVALID_ARGUMENT');
      expect(await errorCode(b.cancel(id, ctx()))).toBe('INVALID_ARGUMENT');
    }
    expect(sim.server.requests).toHaveLength(0);
  });

  it('answers BACKEND_UNAVAILABLE when ComfyControl is down, hangs, answers garbage or a wrong shape', async () => {
    const id = sim.seeds.running[0]!;
    const down = backend({ base_url: `http://127.0.0.1:${await closedPort()}` });
    expect(await errorCode(down.getStatus(id, ctx()))).toBe('BACKEND_UNAVAILABLE');
    const b = backend({}, 200);
    sim.server.setFault({ kind: 'hang' });
    expect(await errorCode(b.getStatus(id, ctx()))).toBe('BACKEND_UNAVAILABLE');
    sim.server.setFault({ kind: 'garbage' });
    expect(await errorCode(b.getStatus(id, ctx()))).toBe('BACKEND_UNAVAILABLE');
    sim.server.setFault({ kind: 'status', status: 200, body: '{"workflows":[]}' });
    expect(await errorCode(b.getStatus(id, ctx()))).toBe('BACKEND_UNAVAILABLE');
    sim.server.setFault({ kind: 'status', status: 500, body: '{"status":500,"message":"internal"}' });
    expect(await errorCode(b.getStatus(id, ctx()))).toBe('BACKEND_UNAVAILABLE');
  });
});

// Unknown and other users' workflows, an unreachable or hanging ComfyControl, cancel's idempotence,
// error bodies and credentials, answers about another workflow, and listing while workflows are
// created: the backend contract suite (test/backends/contract/).
describe('comfycontrol adapter: a backend failure reaches the caller as a fixed sentence, its words only the log', () => {
  const SECRET = 'cfc_live_SECRET-7777';

  it('a 429 passes on the wait, not the body', async () => {
    sim.server.setFault({ kind: 'status', status: 429, body: `{"status":429,"message":"slow down, token=${SECRET}"}` });
    const seen = await callThroughService(backend({ token: SECRET }), 'get_job_status', sim.seeds.running[0]!);
    expect(seen.error).toMatchObject({ code: 'RATE_LIMITED', retry_after_seconds: 10, request_id: 'req-7f3a.42' });
    expect(seen.error!.message).toBe(
      'Backend "cloud-renders" is rate limiting the gateway (HTTP 429); retry after 10 s. Request id: req-7f3a.42.',
    );
    expect(seen.lines.find((l) => l.event === 'backend_error')?.detail).toContain('slow down, token=[redacted]');
    expect(seen.log).not.toContain(SECRET);
  });
});

describe('comfycontrol adapter: list_jobs', () => {
  const HOUR = 3_600_000;

  /** Workflows an hour apart, newest last, in states that stay put; statuses cycle through `statuses`. */
  function addJobs(
    n: number,
    statuses: ComfycontrolStatus[] = ['queued', 'running', 'completed', 'failed', 'cancelled', 'accepted'],
  ): string[] {
    return Array.from({ length: n }, (_, i) => {
      clock.advance(HOUR);
      return sim.addJob({ status: statuses[i % statuses.length]!, remainingMs: null });
    });
  }
  const listRequests = () => sim.server.requests.filter((r) => r.path === '/v1/workflow');

  it('pages through every workflow once, newest first, mapping offsets onto page and per_page=100', async () => {
    await restartSim({ seed: false });
    const ids = addJobs(150);
    const { jobs, pages } = await listAll(backend(), { limit: 30 });
    expect(jobs.map((j) => j.job_id)).toEqual([...ids].reverse());
    expectEachOnceNewestFirst(jobs);
    expect(pages.map((p) => p.jobs.length)).toEqual([30, 30, 30, 30, 30]);
    expect(jobs.slice(0, 6).map((j) => j.raw_status)).toEqual(['accepted', 'cancelled', 'failed', 'completed', 'running', 'queued']);
    expect(jobs.slice(0, 6).map((j) => j.status)).toEqual(['queued', 'cancelled', 'failed', 'succeeded', 'running', 'queued']);
    // Offsets 0, 30, 60 and 90 read page 1; the fourth listing page runs on into page 2, the fifth reads page 2.
    expect(listRequests().map((r) => Object.fromEntries(r.query))).toEqual(
      [1, 1, 1, 1, 2, 2].map((page) => ({ page: String(page), per_page: '100' })),
    );
  });

  it('has no status filter to send: filters here, each workflow once across pages', async () => {
    await restartSim({ seed: false });
    const ids = addJobs(24);
    const b = backend();
    const running = await listAll(b, { statuses: ['running'], limit: 2 });
    expect(running.jobs.map((j) => j.job_id)).toEqual(ids.filter((id) => sim.job(id)!.status === 'running').reverse());
    // queued covers accepted and queued (and uploaded).
    const queued = await listAll(b, { statuses: ['queued'], limit: 5 });
    expect(queued.jobs.map((j) => j.job_id)).toEqual(ids.filter((id) => ['queued', 'accepted'].includes(sim.job(id)!.status)).reverse());
    const ended = await b.list(listQuery({ statuses: ['failed', 'cancelled'] }));
    expect(ended.jobs.map((j) => j.raw_status)).toEqual(Array.from({ length: 8 }, (_, i) => (i % 2 ? 'failed' : 'cancelled')));
    for (const r of listRequests()) expect([...r.query.keys()].sort()).toEqual(['page', 'per_page']);
  });

  it("answers BACKEND_UNAVAILABLE for garbage, a wrong shape, an item without an id and 5xx, never with ComfyControl's words", async () => {
    const b = backend();
    const MARK = 'BODY-WORD-4242';
    sim.server.setFault({ kind: 'garbage' });
    await expectFailure(b.list(listQuery()), 'BACKEND_UNAVAILABLE', ['<html', 'upstream proxy error']);
    for (const body of [
      JSON.stringify({ workflows: [{ status: 'running', name: MARK }], total: 1 }), // no id
      JSON.stringify({ workflows: [{ id: MARK }], total: 1 }), // no status
      JSON.stringify({ workflows: { id: MARK, status: 'running' } }),
      JSON.stringify([{ id: MARK, status: 'running' }]),
      JSON.stringify({ data: [{ id: MARK, status: 'running' }] }),
      JSON.stringify({ id: MARK, status: 'running' }), // a workflow, not a list
    ]) {
      sim.server.setFault({ kind: 'status', status: 200, body });
      await expectFailure(b.list(listQuery()), 'BACKEND_UNAVAILABLE', [MARK]);
    }
    sim.server.setFault({ kind: 'status', status: 500, body: `{"status":500,"message":"db down at ${MARK}"}` });
    await expectFailure(b.list(listQuery()), 'BACKEND_UNAVAILABLE', [MARK, 'db down']);
  });

  it("answers BACKEND_AUTH for a 401 or 403, never with ComfyControl's words", async () => {
    await expectFailure(backend({ token: 'cfc_wrong' }).list(listQuery()), 'BACKEND_AUTH', ['expired', 'API token']);
    sim.server.setFault({ kind: 'status', status: 401, body: `invalid credential: Bearer ${TOKEN}` });
    await expectFailure(backend().list(listQuery()), 'BACKEND_AUTH', [TOKEN, 'invalid credential']);
    sim.server.setFault({ kind: 'status', status: 403, body: '{"status":403,"message":"Your tier does not include the API"}' });
    await expectFailure(backend().list(listQuery()), 'BACKEND_AUTH', ['tier']);
  });

  it('answers INVALID_ARGUMENT for a position it did not give, before any request and without spending the budget', async () => {
    const b = backend({ rate_limit: { requests: 1, per_seconds: 10 } });
    for (const position of [
      'abc',
      42,
      null,
      [],
      {},
      { offset: -1 },
      { offset: 1.5 },
      { offset: '3' },
      { offset: 3, extra: true },
      { offset: 3, last: { id: 'x' } },
      { offset: 1e12 },
      { cursor: 'x', skip: 0 },
    ]) {
      const e = await expectFailure(b.list(listQuery({ position })), 'INVALID_ARGUMENT');
      expect(e.message).toMatch(/cursor/);
    }
    expect(sim.server.requests).toHaveLength(0);
    // The one request of the budget is still there.
    expect((await b.list(listQuery())).jobs).toHaveLength(8);
  });

  it('gives each listed workflow its name and details, and nothing outside the schema', async () => {
    const { jobs } = await listAll(backend());
    expect(jobs).toHaveLength(8);
    for (const j of jobs) {
      expect(j.name).toMatch(/^(portrait-upscale|video-interpolation)$/);
      expect(comfycontrolDetailsSchema.parse(j.details)).toEqual({ tags: ['sandbox'] });
    }
  });

  describe('the request budget', () => {
    // As in the rate limit tests: the budget reads Date, so time moves for it and the simulation together.
    beforeEach(() => {
      vi.useFakeTimers({ toFake: ['Date'], now: clock.now() });
    });
    afterEach(() => {
      vi.useRealTimers();
    });
    const advance = (ms: number) => {
      clock.advance(ms);
      vi.setSystemTime(clock.now());
    };

    it('spends one request per ComfyControl page and never more than the budget', async () => {
      await restartSim({ seed: false });
      addJobs(250);
      vi.setSystemTime(clock.now());
      const b = backend({ rate_limit: { requests: 3, per_seconds: 10 } });
      const { jobs } = await listAll(b, { limit: 100 });
      expect(jobs).toHaveLength(250);
      expect(listRequests()).toHaveLength(3);
      const spent = await expectFailure(b.list(listQuery()), 'RATE_LIMITED');
      expect(spent.retryAfterSeconds).toBeGreaterThan(0);
      expect(sim.server.requests).toHaveLength(3);
      expect(sim.rateLimitedResponses).toBe(0);
      advance(11_000);
      expect((await b.list(listQuery({ limit: 5 }))).jobs).toHaveLength(5);
    });

    it('a filtered listing that finds nothing stops at the budget', async () => {
      await restartSim({ seed: false });
      addJobs(300, ['completed']);
      vi.setSystemTime(clock.now());
      const b = backend({ rate_limit: { requests: 2, per_seconds: 10 } });
      await expectFailure(b.list(listQuery({ statuses: ['running'] })), 'RATE_LIMITED');
      expect(sim.server.requests).toHaveLength(2);
      expect(sim.rateLimitedResponses).toBe(0);
    });

    it('after a 429 answers RATE_LIMITED and stays quiet for the cooldown', async () => {
      const b = backend();
      sim.server.setFault({ kind: 'status', status: 429, body: '<html>Error 1015: You are being rate limited</html>' });
      const first = await expectFailure(b.list(listQuery()), 'RATE_LIMITED', ['1015', '<html']);
      expect(first.retryAfterSeconds).toBe(10);
      sim.server.setFault(null);
      const sent = sim.server.requests.length;
      advance(9_000);
      expect((await expectFailure(b.list(listQuery()), 'RATE_LIMITED')).retryAfterSeconds).toBe(1);
      expect(sim.server.requests.length).toBe(sent);
      advance(1_000);
      expect((await b.list(listQuery())).jobs).toHaveLength(8);
    });

    it("honours the Retry-After of ComfyControl's own 429 in the middle of a listing", async () => {
      await restartSim({ seed: false, rateLimit: { requests: 2, perSeconds: 10, cooldownSeconds: 30 } });
      addJobs(250);
      vi.setSystemTime(clock.now());
      const b = backend({ rate_limit: { requests: 100, per_seconds: 10 } });
      const first = await b.list(listQuery({ limit: 100 }));
      const second = await b.list(listQuery({ limit: 100, position: first.next }));
      const limited = await expectFailure(b.list(listQuery({ limit: 100, position: second.next })), 'RATE_LIMITED', ['1015', 'DOCTYPE']);
      expect(limited.retryAfterSeconds).toBe(30);
      expect(sim.rateLimitedResponses).toBe(1);
      advance(30_000);
      const third = await b.list(listQuery({ limit: 100, position: second.next }));
      expect(third.jobs).toHaveLength(50);
      expect(third.next).toBeUndefined();
    });
  });
});

describe('comfycontrol adapter: name and details of status and cancel reports', () => {
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

  it('reports the name, tags, runner and ComfyUI ids once queued', async () => {
    const b = backend();
    const running = await b.getStatus(sim.seeds.running[0]!, ctx());
    expect(running.name).toBe('portrait-upscale');
    expect(comfycontrolDetailsSchema.parse(running.details)).toEqual({
      tags: ['sandbox'],
      managed_runner_id: expect.stringMatching(UUID),
      prompt_id: expect.stringMatching(UUID),
      queue_number: expect.any(Number),
    });
    // Not on a runner yet: no runner, prompt or queue number.
    const accepted = await b.getStatus(sim.extraSeeds.accepted[0]!, ctx());
    expect(accepted.details).toEqual({ tags: ['sandbox'] });
    expect((await b.getStatus(sim.seeds.long_running[0]!, ctx())).name).toBe('video-interpolation');
  });

  it('cuts the name and tags at 200 characters and keeps at most 20 tags', async () => {
    const id = sim.addJob({
      status: 'running',
      name: 'n'.repeat(300),
      tags: Array.from({ length: 30 }, (_, i) => `${i}-${'t'.repeat(300)}`),
    });
    const r = await backend().getStatus(id, ctx());
    expect(r.name).toBe('n'.repeat(MAX_DETAIL_CHARS));
    const details = comfycontrolDetailsSchema.parse(r.details);
    expect(details.tags).toHaveLength(20);
    expect(details.tags![19]).toBe(`19-${'t'.repeat(MAX_DETAIL_CHARS - 3)}`);
  });

  it('passes on only the documented fields', async () => {
    const id = sim.seeds.running[0]!;
    sim.server.setFault({
      kind: 'status',
      status: 200,
      body: JSON.stringify({
        id,
        status: 'running',
        name: 'upscale',
        user_id: 'u-1',
        user_runner_id: 'r'.repeat(250),
        tags: ['a', 7, null, { x: 1 }, ''],
        workflow_json: { '3': { class_type: 'KSampler' } },
        workflow_params: { $prompt: 'secret prompt' },
        queue_number: 12,
      }),
    });
    const r = await backend().getStatus(id, ctx());
    expect(comfycontrolDetailsSchema.parse(r.details)).toEqual({
      tags: ['a', '7'],
      user_runner_id: 'r'.repeat(MAX_DETAIL_CHARS),
      queue_number: 12,
    });
    expect(JSON.stringify(r)).not.toContain('secret prompt');
  });

  it('carries the name and details on cancel reports: cancel_requested, not_cancellable, already_terminal; none for not_found', async () => {
    const b = backend();
    for (const [id, outcome] of [
      [sim.seeds.running[0]!, 'cancel_requested'],
      [sim.extraSeeds.accepted[0]!, 'not_cancellable'],
      [sim.seeds.succeeded[0]!, 'already_terminal'],
    ] as const) {
      const r = await b.cancel(id, ctx());
      expect(r.outcome).toBe(outcome);
      expect(r.name).toBe('portrait-upscale');
      expect(comfycontrolDetailsSchema.parse(r.details)).toMatchObject({ tags: ['sandbox'] });
    }
    const missing = await b.cancel('00000000-0000-4000-8000-000000000000', ctx());
    expect(missing.outcome).toBe('not_found');
    expect(missing).not.toHaveProperty('name');
    expect(missing).not.toHaveProperty('details');
  });
});
