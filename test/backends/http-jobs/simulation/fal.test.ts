import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../../src/simulation/clock.ts';
import { FAL_CANCEL_STOP_MS, FAL_CANCELLED_RESULT, startFalSim, type FalSim } from '../../../../src/backends/http-jobs/simulation/fal.ts';

const KEY = 'fal-test-key';
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
let clock: ManualClock;
let sim: FalSim;

beforeEach(async () => {
  clock = new ManualClock();
  sim = await startFalSim({ key: KEY, clock });
});
afterEach(async () => {
  await sim.close();
});

async function call(method: string, pathOrUrl: string, auth: string | null = `Key ${KEY}`) {
  const headers: Record<string, string> = {};
  if (auth !== null) headers.authorization = auth;
  const url = pathOrUrl.startsWith('http') ? pathOrUrl : `${sim.baseUrl}${pathOrUrl}`;
  const res = await fetch(url, { method, headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? (JSON.parse(text) as Record<string, any>) : undefined };
}

const status = (id: string, logs = false) => call('GET', `/requests/${id}/status${logs ? '?logs=1' : ''}`);
const result = (id: string) => call('GET', `/requests/${id}`);
const cancel = (id: string) => call('PUT', `/requests/${id}/cancel`);

describe('fal queue simulation', () => {
  it("serves under the app's queue base and seeds one UUID request per state", async () => {
    expect(sim.app).toBe('fal-ai/flux');
    expect(sim.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/fal-ai\/flux$/);
    const expected: Record<string, [string, number]> = {
      queued: ['IN_QUEUE', 202],
      running: ['IN_PROGRESS', 202],
      long_running: ['IN_PROGRESS', 202],
      succeeded: ['COMPLETED', 200],
      failed: ['COMPLETED', 200],
      cancelled: ['COMPLETED', 200],
    };
    for (const [state, ids] of Object.entries(sim.seeds)) {
      expect(ids).toHaveLength(1);
      const id = ids[0]!;
      expect(id).toMatch(UUID_V4);
      const res = await status(id);
      expect([res.json?.status, res.status]).toEqual(expected[state]);
      expect(res.json).toMatchObject({
        request_id: id,
        response_url: `${sim.baseUrl}/requests/${id}`,
        status_url: `${sim.baseUrl}/requests/${id}/status`,
        cancel_url: `${sim.baseUrl}/requests/${id}/cancel`,
      });
    }
    const other = await startFalSim({ key: KEY, clock, namespace: 'other', app: 'fal-ai/wan-video' });
    try {
      expect(other.baseUrl).toMatch(/\/fal-ai\/wan-video$/);
      expect(other.seeds.running[0]).not.toBe(sim.seeds.running[0]);
    } finally {
      await other.close();
    }
  });

  it('shows queue_position only while queued, logs only with ?logs=1 and metrics once completed', async () => {
    const queued = (await status(sim.seeds.queued[0]!)).json!;
    expect(queued.queue_position).toBe(0);
    expect(queued.logs).toBeNull();
    const behind = sim.addRequest({ status: 'IN_QUEUE' });
    expect((await status(behind)).json?.queue_position).toBe(1);

    const running = (await status(sim.seeds.running[0]!)).json!;
    expect(running).not.toHaveProperty('queue_position');
    expect(running.logs).toBeNull();
    const withLogs = (await status(sim.seeds.running[0]!, true)).json!;
    expect(withLogs.logs.length).toBeGreaterThan(1);
    expect(withLogs.logs[0]).toMatchObject({ message: expect.any(String), level: 'INFO', timestamp: expect.any(String) });

    const done = (await status(sim.seeds.succeeded[0]!)).json!;
    expect(done.metrics.inference_time).toBeGreaterThan(0);
    expect(done).not.toHaveProperty('queue_position');
  });

  it('moves a request on as the clock advances and serves its result once COMPLETED', async () => {
    const id = sim.addRequest({ status: 'IN_QUEUE', startsInMs: 5_000, runsForMs: 20_000 });
    expect((await status(id)).json?.status).toBe('IN_QUEUE');
    const early = await result(id);
    expect(early.status).toBe(400);
    expect(early.json).toEqual({ detail: 'Request is still in progress' });
    clock.advance(5_000);
    expect((await status(id)).json?.status).toBe('IN_PROGRESS');
    clock.advance(20_000);
    const done = await status(id);
    expect([done.status, done.json?.status, done.json?.metrics.inference_time]).toEqual([200, 'COMPLETED', 20]);
    const res = await result(id);
    expect(res.status).toBe(200);
    expect(res.json?.images[0].url).toMatch(/^https:\/\//);
  });

  it('reads COMPLETED for a failed request; only the result route answers the error with its status and body', async () => {
    const id = sim.seeds.failed[0]!;
    expect((await status(id)).json?.status).toBe('COMPLETED');
    const res = await result(id);
    expect(res.status).toBe(422);
    expect(res.headers.get('x-fal-retryable')).toBe('false');
    expect((await status(id)).json?.metrics.inference_time).toBe(20);
    expect(res.json?.detail[0]).toMatchObject({ type: 'content_policy_violation', loc: ['body', 'prompt'], msg: expect.any(String) });
    expect(sim.request(id)).toMatchObject({ status: 'COMPLETED', outcome: 'error' });

    const custom = sim.addRequest({
      status: 'COMPLETED',
      outcome: 'error',
      failure: {
        status: 504,
        retryable: true,
        body: { detail: [{ loc: ['body'], msg: 'Generation timeout', type: 'generation_timeout' }] },
      },
    });
    const timeout = await result(custom);
    expect([timeout.status, timeout.headers.get('x-fal-retryable')]).toEqual([504, 'true']);
  });

  it('cancels a queued request at once: 202, then COMPLETED with the cancelled result', async () => {
    const id = sim.seeds.queued[0]!;
    const res = await cancel(id);
    expect(res.status).toBe(202);
    expect(res.json).toEqual({ status: 'CANCELLATION_REQUESTED' });
    expect((await status(id)).json?.status).toBe('COMPLETED');
    const r = await result(id);
    expect([r.status, r.json]).toEqual([FAL_CANCELLED_RESULT.status, FAL_CANCELLED_RESULT.body]);
    expect(sim.request(id)?.outcome).toBe('cancelled');
    clock.advance(60 * 60_000);
    expect(sim.request(id)?.outcome).toBe('cancelled');
    expect((await status(sim.seeds.cancelled[0]!)).json?.status).toBe('COMPLETED');
    expect((await result(sim.seeds.cancelled[0]!)).status).toBe(FAL_CANCELLED_RESULT.status);
  });

  it('signals a running request: it stays IN_PROGRESS until the app stops, or runs on if the app ignores it', async () => {
    const id = sim.seeds.running[0]!;
    expect((await cancel(id)).status).toBe(202);
    expect((await status(id)).json?.status).toBe('IN_PROGRESS');
    clock.advance(FAL_CANCEL_STOP_MS);
    expect((await status(id)).json?.status).toBe('COMPLETED');
    expect(sim.request(id)?.outcome).toBe('cancelled');

    const stubborn = sim.addRequest({ status: 'IN_PROGRESS', runsForMs: 60_000, honorsCancel: false });
    expect((await cancel(stubborn)).json).toEqual({ status: 'CANCELLATION_REQUESTED' });
    clock.advance(30_000);
    expect((await status(stubborn)).json?.status).toBe('IN_PROGRESS');
    clock.advance(30_000);
    expect(sim.request(stubborn)?.outcome).toBe('ok');
    expect((await result(stubborn)).status).toBe(200);
  });

  it('answers 400 ALREADY_COMPLETED for finished requests and 404 NOT_FOUND for unknown ones', async () => {
    for (const id of [sim.seeds.succeeded[0]!, sim.seeds.failed[0]!, sim.seeds.cancelled[0]!]) {
      const res = await cancel(id);
      expect([res.status, res.json]).toEqual([400, { status: 'ALREADY_COMPLETED' }]);
      expect(sim.request(id)?.cancelRequests).toBe(1);
    }
    expect(sim.request(sim.seeds.succeeded[0]!)?.outcome).toBe('ok');
    const unknown = '80e732af-660e-45cd-bd63-580e4f2a94cc';
    expect(await cancel(unknown)).toMatchObject({ status: 404, json: { status: 'NOT_FOUND' } });
    expect(await status(unknown)).toMatchObject({ status: 404, json: { detail: 'Request not found' } });
    expect(await result(unknown)).toMatchObject({ status: 404, json: { detail: 'Request not found' } });
  });

  it('serves a sub-path request under the app base only, never under the sub-path', async () => {
    const id = sim.seeds.long_running[0]!;
    expect(sim.request(id)?.subpath).toBe('dev');
    const res = await status(id);
    expect(res.json?.status_url).toBe(`${sim.baseUrl}/requests/${id}/status`);
    const viaSubpath = await call('GET', `/dev/requests/${id}/status`);
    expect([viaSubpath.status, viaSubpath.json]).toEqual([404, { detail: 'Not Found' }]);
    expect((await call('PUT', `/dev/requests/${id}/cancel`)).status).toBe(404);
    expect(sim.request(id)?.cancelRequests).toBe(0);
  });

  it('has no list route and needs `Key` auth', async () => {
    for (const path of ['/requests', '/requests/', '']) {
      expect(await call('GET', path)).toMatchObject({ status: 404, json: { detail: 'Not Found' } });
    }
    const id = sim.seeds.running[0]!;
    for (const auth of [null, `Bearer ${KEY}`, 'Key wrong', KEY]) {
      const res = await call('GET', `/requests/${id}/status`, auth);
      expect(res.status).toBe(401);
      expect(typeof res.json?.detail).toBe('string');
    }
    expect((await call('PUT', `/requests/${id}/cancel`, 'Key wrong')).status).toBe(401);
    expect(sim.request(id)?.cancelRequests).toBe(0);
    expect(sim.server.requests.some((r) => r.method === 'PUT' && r.path === `/fal-ai/flux/requests/${id}/cancel`)).toBe(true);
  });

  it('starts empty when seeding is off', async () => {
    const empty = await startFalSim({ key: KEY, clock, seed: false });
    try {
      expect(Object.values(empty.seeds).flat()).toEqual([]);
    } finally {
      await empty.close();
    }
  });
});
