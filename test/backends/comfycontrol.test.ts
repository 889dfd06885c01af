import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createComfycontrolBackend } from '../../src/backends/comfycontrol.ts';
import type { ComfycontrolBackendConfig } from '../../src/config/schema.ts';
import { isBackendError, type BackendError } from '../../src/jobs/backend-error.ts';
import type { JobBackend } from '../../src/jobs/backend.ts';
import { ManualClock } from '../../src/sandbox/clock.ts';
import { createMemoryStore } from '../../src/state/memory-store.ts';
import type { StateStore } from '../../src/state/store.ts';
import { startComfycontrolSim, type ComfycontrolSim, type ComfycontrolSimOptions } from '../../src/sandbox/comfycontrol.ts';
import { startSimServer } from '../../src/sandbox/sim-server.ts';
import { freePort as closedPort } from '../helpers/ports.ts';
import { TickingClock, ctx, errorCode } from '../helpers/backend-calls.ts';
import { backendFailures, callThroughService, expectFailureSeen } from '../helpers/tool-errors.ts';

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
  const config: ComfycontrolBackendConfig = { kind: 'comfycontrol', base_url: sim.baseUrl, token: TOKEN, rate_limit: { requests: 40, per_seconds: 10 }, ...overrides };
  const b = createComfycontrolBackend(config, { name: 'cloud-renders', projectReference: 'cloud-renders', timeoutMs, now: () => clock.now(), state });
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
  await Promise.all(backends.splice(0).map((b) => b.close?.()));
  await sim.close();
});

describe('comfycontrol adapter: get_job_status', () => {
  it('maps every seeded state, accepted and invalid included', async () => {
    const b = backend();
    const expected = { queued: 'queued', running: 'running', long_running: 'running', succeeded: 'succeeded', failed: 'failed', cancelled: 'cancelled' } as const;
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

  it('reports unknown and another user\'s workflows as not found', async () => {
    const b = backend();
    expect(await b.getStatus('00000000-0000-4000-8000-000000000000', ctx())).toEqual({ found: false, status: 'unknown', raw_status: null });
    expect((await b.getStatus(sim.addJob({ userId: 'someone-else' }), ctx())).found).toBe(false);
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
    expect(sim.server.requests.map((q) => `${q.method} ${q.path}`)).toEqual([`GET /v1/workflow/${id}`, `POST /v1/workflow/${id}/cancel`, `GET /v1/workflow/${id}`]);
    clock.advance(6_000);
    expect((await b.getStatus(id, ctx())).status).toBe('cancelled');
    const posts = sim.server.requests.filter((q) => q.method === 'POST').length;
    expect(await b.cancel(id, ctx())).toMatchObject({ outcome: 'already_terminal', status_before: 'cancelled', status_after: 'cancelled' });
    expect(sim.server.requests.filter((q) => q.method === 'POST').length).toBe(posts);
  });

  it('cancels a queued workflow the same way', async () => {
    const b = backend();
    const id = sim.seeds.queued[0]!;
    expect(await b.cancel(id, ctx())).toMatchObject({ outcome: 'cancel_requested', status_before: 'queued' });
    clock.advance(6_000);
    expect((await b.getStatus(id, ctx())).status).toBe('cancelled');
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
    const id = sim.addJob({ status: 'running', remainingMs: 1_500, outcome: 'failed' });
    expect(await backend().cancel(id, ctx())).toMatchObject({ outcome: 'already_terminal', status_before: 'running', status_after: 'failed' });
    expect(sim.server.requests.map((q) => q.method)).toEqual(['GET', 'POST', 'GET']);
  });

  it('answers not_found for unknown and another user\'s workflows without calling cancel', async () => {
    const b = backend();
    expect(await b.cancel('00000000-0000-4000-8000-000000000000', ctx())).toMatchObject({ outcome: 'not_found', status_after: 'unknown' });
    const theirs = sim.addJob({ userId: 'someone-else', status: 'running' });
    expect(await b.cancel(theirs, ctx())).toMatchObject({ outcome: 'not_found' });
    expect(sim.server.requests.some((q) => q.method === 'POST')).toBe(false);
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
    const busiest = Math.max(...arrivals.map((a) => arrivals.filter((x) => x.at > a.at - 2_000 && x.at <= a.at).reduce((n, x) => n + x.count, 0)));
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
    expect(typeof seenByB !== 'string' && seenByB.message).toBe('Backend "cloud-renders" answered 429 recently; the gateway waits 10 s before calling it again, so retry after 10 s.');
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

describe('comfycontrol adapter: a backend failure reaches the caller as a fixed sentence, its words only the log', () => {
  const SECRET = 'cfc_live_SECRET-7777';

  for (const f of backendFailures(SECRET)) {
    it(`${f.what}: ${f.code} naming the backend and the request id; the log has the redacted words`, async () => {
      sim.server.setFault({ kind: 'status', status: f.status, body: f.body });
      const id = sim.seeds.running[0]!;
      for (const tool of ['get_job_status', 'cancel_job'] as const) {
        const seen = await callThroughService(backend({ token: SECRET }), tool, id);
        expectFailureSeen(seen, f, { tool, backend: 'cloud-renders', kind: 'comfycontrol', secret: SECRET });
      }
      expect(sim.server.requests.some((q) => q.method === 'POST')).toBe(false);
    });
  }

  it('a 429 passes on the wait, not the body', async () => {
    sim.server.setFault({ kind: 'status', status: 429, body: `{"status":429,"message":"slow down, token=${SECRET}"}` });
    const seen = await callThroughService(backend({ token: SECRET }), 'get_job_status', sim.seeds.running[0]!);
    expect(seen.error).toMatchObject({ code: 'RATE_LIMITED', retry_after_seconds: 10, request_id: 'req-7f3a.42' });
    expect(seen.error!.message).toBe('Backend "cloud-renders" is rate limiting the gateway (HTTP 429); retry after 10 s. Request id: req-7f3a.42.');
    expect(seen.lines.find((l) => l.event === 'backend_error')?.detail).toContain('slow down, token=[redacted]');
    expect(seen.log).not.toContain(SECRET);
  });
});

describe('comfycontrol adapter: an answer about another workflow is never taken as this one', () => {
  const foreign = JSON.stringify({ id: 'wf-of-someone-else', status: 'completed', exception_message: null });

  it('get_job_status answers BACKEND_UNAVAILABLE, with no status and nothing of the other record', async () => {
    sim.server.setFault({ kind: 'status', status: 200, body: foreign });
    const seen = await callThroughService(backend(), 'get_job_status', sim.seeds.running[0]!);
    expect(seen.error?.code).toBe('BACKEND_UNAVAILABLE');
    expect(seen.error?.message).toMatch(/different job/);
    for (const word of ['someone-else', 'completed', 'succeeded']) expect(seen.callerSees).not.toContain(word);
  });

  it('cancel_job sends no cancel and answers BACKEND_UNAVAILABLE (not already_terminal) when the read names another workflow', async () => {
    const id = sim.seeds.running[0]!;
    sim.server.setFault({ kind: 'status', status: 200, body: foreign });
    const seen = await callThroughService(backend(), 'cancel_job', id);
    expect(seen.error?.code).toBe('BACKEND_UNAVAILABLE');
    expect(seen.result.structuredContent).not.toHaveProperty('outcome');
    expect(sim.server.requests.map((q) => q.method)).toEqual(['GET']);
    sim.server.setFault(null);
    expect(sim.job(id)!.cancelRequestedAt).toBeUndefined();
  });

  it('cancel_job claims nothing when a cancel answer with a body names another workflow', async () => {
    const proxy = await startSimServer(async (req) => {
      if (req.method === 'POST') return { status: 200, json: { id: 'wf-of-someone-else', status: 'cancelled' } };
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
