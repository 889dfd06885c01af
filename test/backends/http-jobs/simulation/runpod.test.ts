import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../../src/simulation/clock.ts';
import {
  RUNPOD_DEFAULT_EXECUTION_TIMEOUT_MS,
  RUNPOD_NOT_FOUND_BODY,
  RUNPOD_RUN_RETENTION_MS,
  RUNPOD_RUNSYNC_RETENTION_MS,
  startRunpodSim,
  type RunpodSim,
} from '../../../../src/backends/http-jobs/simulation/runpod.ts';

const KEY = 'rpa_test-key';
const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-u1$/;
let clock: ManualClock;
let sim: RunpodSim;

beforeEach(async () => {
  clock = new ManualClock();
  sim = await startRunpodSim({ apiKey: KEY, endpointId: 'abc123endpoint', clock });
});
afterEach(async () => {
  await sim.close();
});

async function call(method: string, path: string, auth: string | null = `Bearer ${KEY}`) {
  const headers: Record<string, string> = {};
  if (auth !== null) headers.authorization = auth;
  const res = await fetch(`${sim.baseUrl}${path}`, { method, headers });
  const text = await res.text();
  let json: Record<string, any> | undefined;
  try {
    json = text ? (JSON.parse(text) as Record<string, any>) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json };
}

const status = (id: string, method = 'GET') => call(method, `/status/${id}`);
const cancel = (id: string) => call('POST', `/cancel/${id}`);

describe('runpod serverless simulation', () => {
  it("serves under /v2/<endpoint_id> and seeds one `-u1` job per state, each reading RunPod's fields", async () => {
    expect(sim.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v2\/abc123endpoint$/);
    const expected: Record<string, string> = {
      queued: 'IN_QUEUE',
      running: 'IN_PROGRESS',
      long_running: 'IN_PROGRESS',
      succeeded: 'COMPLETED',
      failed: 'FAILED',
      cancelled: 'CANCELLED',
    };
    for (const [state, ids] of Object.entries(sim.seeds)) {
      const id = ids[0]!;
      expect(ids).toHaveLength(1);
      expect(id).toMatch(JOB_ID);
      const res = await status(id);
      expect(res.status).toBe(200);
      expect(res.json?.status).toBe(expected[state]);
      expect(res.json?.id).toBe(id);
    }
    expect((await status(sim.seeds.queued[0]!)).json).toEqual({ id: sim.seeds.queued[0], status: 'IN_QUEUE' });
    const running = (await status(sim.seeds.running[0]!)).json!;
    expect(running.delayTime).toBeGreaterThan(0);
    expect(running).not.toHaveProperty('executionTime');
    expect(running).not.toHaveProperty('output');
    expect(typeof running.workerId).toBe('string');
    const done = (await status(sim.seeds.succeeded[0]!)).json!;
    expect(done.executionTime).toBeGreaterThan(0);
    expect(done.output).toBeDefined();
    expect((await status(sim.seeds.cancelled[0]!)).json).toEqual({ id: sim.seeds.cancelled[0], status: 'CANCELLED' });
  });

  it('reports a FAILED job with `error` as a string holding JSON', async () => {
    const failed = (await status(sim.seeds.failed[0]!)).json!;
    expect(typeof failed.error).toBe('string');
    expect(JSON.parse(failed.error as string)).toMatchObject({
      error_type: expect.any(String),
      error_message: 'CUDA error: out of memory',
    });
    expect(failed).not.toHaveProperty('output');
    expect(failed.executionTime).toBeGreaterThan(0);
  });

  it('accepts POST on the status route, as the docs example does', async () => {
    const res = await status(sim.seeds.running[0]!, 'POST');
    expect(res.status).toBe(200);
    expect(res.json?.status).toBe('IN_PROGRESS');
  });

  it('moves a job on with the clock (IN_QUEUE -> IN_PROGRESS -> COMPLETED) with delay and execution times', async () => {
    const id = sim.addJob({ status: 'IN_QUEUE', startsInMs: 5_000, runsForMs: 12_000 });
    expect((await status(id)).json?.status).toBe('IN_QUEUE');
    clock.advance(5_000);
    expect((await status(id)).json).toMatchObject({ status: 'IN_PROGRESS', delayTime: 6_000 });
    clock.advance(12_000);
    expect((await status(id)).json).toMatchObject({ status: 'COMPLETED', delayTime: 6_000, executionTime: 12_000 });
  });

  it('ends a job that outlasts its execution timeout TIMED_OUT', async () => {
    const id = sim.addJob({ status: 'IN_PROGRESS', startedAgoMs: 0, runsForMs: null });
    clock.advance(RUNPOD_DEFAULT_EXECUTION_TIMEOUT_MS - 1);
    expect((await status(id)).json?.status).toBe('IN_PROGRESS');
    clock.advance(1);
    expect((await status(id)).json).toMatchObject({ status: 'TIMED_OUT', executionTime: RUNPOD_DEFAULT_EXECUTION_TIMEOUT_MS });
    // The long-running seed has its own, longer policy.
    expect((await status(sim.seeds.long_running[0]!)).json?.status).toBe('IN_PROGRESS');
  });

  it('cancels a queued or running job at once and answers {id, status: CANCELLED}', async () => {
    for (const id of [sim.seeds.queued[0]!, sim.seeds.running[0]!, sim.seeds.long_running[0]!]) {
      const res = await cancel(id);
      expect(res.status).toBe(200);
      expect(res.json).toEqual({ id, status: 'CANCELLED' });
      expect((await status(id)).json?.status).toBe('CANCELLED');
    }
    clock.advance(10 * MIN_MS);
    expect(sim.job(sim.seeds.long_running[0]!)?.status).toBe('CANCELLED');
  });

  it('leaves a finished job as it is on cancel and answers its status', async () => {
    for (const [id, st] of [
      [sim.seeds.succeeded[0]!, 'COMPLETED'],
      [sim.seeds.failed[0]!, 'FAILED'],
      [sim.seeds.cancelled[0]!, 'CANCELLED'],
    ] as const) {
      const res = await cancel(id);
      expect([res.status, res.json]).toEqual([200, { id, status: st }]);
      expect(sim.job(id)).toMatchObject({ status: st, cancelRequests: 1 });
    }
  });

  it('forgets a finished /run job 30 minutes after it ends, and a /runsync job after 1 minute', async () => {
    const run = sim.addJob({ status: 'COMPLETED', endedAgoMs: 0 });
    const sync = sim.addJob({ status: 'COMPLETED', endedAgoMs: 0, sync: true });
    expect(sync).toMatch(/^sync-/);
    expect((await status(sync)).status).toBe(200);
    clock.advance(RUNPOD_RUNSYNC_RETENTION_MS);
    expect(await status(sync)).toMatchObject({ status: 404, json: RUNPOD_NOT_FOUND_BODY });
    expect((await status(run)).status).toBe(200);
    clock.advance(RUNPOD_RUN_RETENTION_MS - RUNPOD_RUNSYNC_RETENTION_MS);
    expect(await status(run)).toMatchObject({ status: 404, json: RUNPOD_NOT_FOUND_BODY });
    expect(await cancel(run)).toMatchObject({ status: 404, json: RUNPOD_NOT_FOUND_BODY });
    expect(sim.job(run)?.expired).toBe(true);
    // The seeded finished jobs expire too (the succeeded one ended 5 minutes before the start).
    expect((await status(sim.seeds.succeeded[0]!)).status).toBe(404);
  });

  it('answers 404 for unknown jobs, other endpoints and a list request; 401 without the Bearer key', async () => {
    const unknown = '60902e6c-08a1-426e-9cb9-9eaec90f5e2b-u1';
    expect(await status(unknown)).toMatchObject({ status: 404, json: RUNPOD_NOT_FOUND_BODY });
    expect(await cancel(unknown)).toMatchObject({ status: 404, json: RUNPOD_NOT_FOUND_BODY });
    expect((await call('GET', '/requests')).status).toBe(404);
    const other = await fetch(sim.baseUrl.replace('abc123endpoint', 'otherendpoint1') + `/status/${sim.seeds.running[0]}`, {
      headers: { authorization: `Bearer ${KEY}` },
    });
    expect(other.status).toBe(404);
    const id = sim.seeds.running[0]!;
    for (const auth of [null, KEY, 'Bearer wrong', `Key ${KEY}`]) {
      expect((await call('GET', `/status/${id}`, auth)).status).toBe(401);
    }
    expect((await call('POST', `/cancel/${id}`, 'Bearer wrong')).status).toBe(401);
    expect(sim.job(id)).toMatchObject({ status: 'IN_PROGRESS', cancelRequests: 0 });
    expect(sim.server.requests.filter((r) => r.path === `/v2/abc123endpoint/cancel/${id}`)).toHaveLength(1);
  });

  it('seeds the same ids each run, none when seeding is off', async () => {
    const again = await startRunpodSim({ apiKey: KEY, endpointId: 'abc123endpoint', clock });
    const empty = await startRunpodSim({ apiKey: KEY, clock, seed: false });
    try {
      expect(again.seeds).toEqual(sim.seeds);
      expect(Object.values(empty.seeds).flat()).toEqual([]);
      expect(empty.endpointId).toMatch(/^[a-z0-9]+$/);
    } finally {
      await again.close();
      await empty.close();
    }
  });
});

const MIN_MS = 60_000;
