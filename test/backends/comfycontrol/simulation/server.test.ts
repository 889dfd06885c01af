import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../../src/simulation/clock.ts';
import { startComfycontrolSim, type ComfycontrolSim } from '../../../../src/backends/comfycontrol/simulation/server.ts';

const TOKEN = 'cfc_test_token';
let clock: ManualClock;
let sim: ComfycontrolSim;

beforeEach(async () => {
  clock = new ManualClock();
  sim = await startComfycontrolSim({ token: TOKEN, clock });
});
afterEach(async () => {
  await sim.close();
});

async function call(method: string, path: string, token: string | null = TOKEN) {
  const res = await fetch(`${sim.baseUrl}${path}`, { method, headers: token === null ? {} : { authorization: `Bearer ${token}` } });
  const text = await res.text();
  let json: Record<string, any> | undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json, retryAfter: res.headers.get('retry-after') };
}
const wf = (id: string) => `/v1/workflow/${id}`;

describe('comfycontrol simulation', () => {
  it('requires the bearer token (401 with {status, message})', async () => {
    const res = await call('GET', wf(sim.seeds.running[0]!), 'cfc_wrong');
    expect(res.status).toBe(401);
    expect(res.json).toMatchObject({ status: 401 });
    expect(typeof res.json?.message).toBe('string');
  });

  it('answers the full workflow record; error fields only on failed', async () => {
    const running = (await call('GET', wf(sim.seeds.running[0]!))).json!;
    for (const k of [
      'id',
      'user_id',
      'name',
      'status',
      'user_runner_id',
      'managed_runner_id',
      'tags',
      'workflow_json',
      'workflow_params',
      'prompt_id',
      'queue_number',
      'error_node',
      'exception_type',
      'exception_message',
      'created_at',
      'updated_at',
      'started_at',
      'completed_at',
    ])
      expect(running).toHaveProperty(k);
    expect(running.status).toBe('running');
    expect(running.error_node).toBeNull();
    expect(running.exception_message).toBeNull();
    const failed = (await call('GET', wf(sim.seeds.failed[0]!))).json!;
    expect(failed.status).toBe('failed');
    expect(failed.error_node).toBeTruthy();
    expect(failed.exception_type).toBeTruthy();
    expect(failed.exception_message).toBeTruthy();
    const invalid = (await call('GET', wf(sim.extraSeeds.invalid[0]!))).json!;
    expect(invalid.status).toBe('invalid');
    expect(invalid.exception_message).toBeNull();
  });

  it('seeds every state plus an accepted workflow', async () => {
    const expected = {
      queued: 'queued',
      running: 'running',
      long_running: 'running',
      succeeded: 'completed',
      failed: 'failed',
      cancelled: 'cancelled',
    } as const;
    for (const [state, word] of Object.entries(expected)) {
      for (const id of sim.seeds[state as keyof typeof expected]) expect((await call('GET', wf(id))).json?.status).toBe(word);
    }
    expect((await call('GET', wf(sim.extraSeeds.accepted[0]!))).json?.status).toBe('accepted');
  });

  it("answers 404 for unknown workflows and for another user's", async () => {
    expect((await call('GET', wf('00000000-0000-4000-8000-000000000000'))).status).toBe(404);
    const theirs = sim.addJob({ userId: 'someone-else', status: 'running' });
    const res = await call('GET', wf(theirs));
    expect(res.status).toBe(404);
    expect(res.json).toEqual({ status: 404, message: 'Workflow not found' });
    expect((await call('POST', `${wf(theirs)}/cancel`)).status).toBe(404);
  });

  it('moves accepted -> uploaded -> queued -> running with the clock', async () => {
    const id = sim.addJob({ status: 'accepted', remainingMs: 1_000, uploadedForMs: 1_000, queuedForMs: 1_000 });
    const s = async () => (await call('GET', wf(id))).json?.status;
    expect(await s()).toBe('accepted');
    clock.advance(1_000);
    expect(await s()).toBe('uploaded');
    clock.advance(1_000);
    expect(await s()).toBe('queued');
    clock.advance(1_000);
    expect(await s()).toBe('running');
  });

  it('cancels queued and running workflows with 200 and an empty body; the status flips seconds later', async () => {
    for (const id of [sim.seeds.queued[0]!, sim.seeds.running[0]!]) {
      const res = await call('POST', `${wf(id)}/cancel`);
      expect(res.status).toBe(200);
      expect(res.text).toBe('');
      expect(sim.job(id)?.status).not.toBe('cancelled');
    }
    clock.advance(6_000);
    expect((await call('GET', wf(sim.seeds.queued[0]!))).json?.status).toBe('cancelled');
    expect((await call('GET', wf(sim.seeds.running[0]!))).json?.status).toBe('cancelled');
  });

  it('keeps a workflow that completes before the stop completed', async () => {
    const id = sim.addJob({ status: 'running', remainingMs: 1_000 });
    expect((await call('POST', `${wf(id)}/cancel`)).status).toBe(200);
    clock.advance(10_000);
    expect((await call('GET', wf(id))).json?.status).toBe('completed');
  });

  it('answers 400 for accepted, uploaded and finished workflows', async () => {
    const uploaded = sim.addJob({ status: 'uploaded', remainingMs: null });
    const ids = [
      sim.extraSeeds.accepted[0]!,
      uploaded,
      sim.seeds.succeeded[0]!,
      sim.seeds.failed[0]!,
      sim.seeds.cancelled[0]!,
      sim.extraSeeds.invalid[0]!,
    ];
    for (const id of ids) {
      const res = await call('POST', `${wf(id)}/cancel`);
      expect(res.status).toBe(400);
      expect(res.json).toMatchObject({ status: 400 });
      expect(typeof res.json?.message).toBe('string');
    }
  });

  it('answers 500 when the runner cannot be reached', async () => {
    const id = sim.addJob({ status: 'running', runnerUnreachable: true });
    const res = await call('POST', `${wf(id)}/cancel`);
    expect(res.status).toBe(500);
    expect(res.json).toMatchObject({ status: 500 });
  });

  it('limits a client to 40 requests per 10 s, then answers 429 for a 10 s cooldown', async () => {
    const id = sim.seeds.running[0]!;
    for (let i = 0; i < 40; i++) expect((await call('GET', wf(id))).status).toBe(200);
    const limited = await call('GET', wf(id));
    expect(limited.status).toBe(429);
    expect(limited.retryAfter).toBe('10');
    // During the cooldown every request is refused, even once the counting window has moved on.
    clock.advance(5_000);
    const during = await call('GET', wf(id));
    expect(during.status).toBe(429);
    expect(Number(during.retryAfter)).toBeGreaterThan(0);
    clock.advance(5_000);
    expect((await call('GET', wf(id))).status).toBe(200);
    expect(sim.rateLimitedResponses).toBe(2);
  });

  it('counts requests in a sliding window', async () => {
    const id = sim.seeds.running[0]!;
    for (let i = 0; i < 30; i++) await call('GET', wf(id));
    clock.advance(6_000);
    for (let i = 0; i < 10; i++) expect((await call('GET', wf(id))).status).toBe(200);
    expect((await call('GET', wf(id))).status).toBe(429);
  });

  it('honours a custom limit', async () => {
    const small = await startComfycontrolSim({
      token: TOKEN,
      clock,
      rateLimit: { requests: 2, perSeconds: 1, cooldownSeconds: 3 },
      seed: false,
    });
    try {
      const get = () => fetch(`${small.baseUrl}/v1/workflow/x`, { headers: { authorization: `Bearer ${TOKEN}` } }).then((r) => r.status);
      expect(await get()).toBe(404);
      expect(await get()).toBe(404);
      expect(await get()).toBe(429);
      clock.advance(3_000);
      expect(await get()).toBe(404);
    } finally {
      await small.close();
    }
  });

  it("lists the user's workflows, newest first", async () => {
    sim.addJob({ userId: 'someone-else' });
    const res = await call('GET', '/v1/workflow?page=1&per_page=100');
    expect(res.status).toBe(200);
    expect(res.json?.total).toBe(8);
    expect((await call('GET', '/v1/workflow?per_page=5')).status).toBe(400);
  });
});
