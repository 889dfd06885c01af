import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../../src/simulation/clock.ts';
import {
  REPLICATE_DATA_RETENTION_MS,
  REPLICATE_PAGE_SIZE,
  startReplicateSim,
  type ReplicateSim,
} from '../../../../src/backends/http-jobs/simulation/replicate.ts';

const TOKEN = 'r8_test-token';
let clock: ManualClock;
let sim: ReplicateSim;

beforeEach(async () => {
  clock = new ManualClock();
  sim = await startReplicateSim({ token: TOKEN, clock });
});
afterEach(async () => {
  await sim.close();
});

async function call(method: string, pathOrUrl: string, auth: string | null = `Bearer ${TOKEN}`) {
  const headers: Record<string, string> = {};
  if (auth !== null) headers.authorization = auth;
  const url = pathOrUrl.startsWith('http') ? pathOrUrl : `${sim.baseUrl}${pathOrUrl}`;
  const res = await fetch(url, { method, headers });
  const text = await res.text();
  return { status: res.status, text, json: text ? (JSON.parse(text) as Record<string, any>) : undefined };
}

const get = (id: string) => call('GET', `/predictions/${id}`);
const cancel = (id: string) => call('POST', `/predictions/${id}/cancel`);

describe('replicate simulation', () => {
  it('serves under /v1 on a free port and seeds one prediction per state with Replicate-style ids', async () => {
    expect(sim.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    expect(sim.server.port).not.toBe(0);
    const expected: Record<string, string> = {
      queued: 'starting',
      running: 'processing',
      long_running: 'processing',
      succeeded: 'succeeded',
      failed: 'failed',
      cancelled: 'canceled',
    };
    for (const [state, ids] of Object.entries(sim.seeds)) {
      expect(ids).toHaveLength(1);
      const id = ids[0]!;
      expect(id).toMatch(/^[a-z2-7]{26}$/);
      const res = await get(id);
      expect(res.status).toBe(200);
      expect(res.json?.status).toBe(expected[state]);
      expect(res.json?.id).toBe(id);
      expect(res.json?.urls.get).toBe(`${sim.baseUrl}/predictions/${id}`);
      expect(res.json?.urls.cancel).toBe(`${sim.baseUrl}/predictions/${id}/cancel`);
    }
  });

  it('seeds the same ids on every run and different ids per namespace', async () => {
    const again = await startReplicateSim({ token: TOKEN, clock });
    const other = await startReplicateSim({ token: TOKEN, clock, namespace: 'elsewhere' });
    try {
      expect(again.seeds).toEqual(sim.seeds);
      expect(other.seeds.running[0]).not.toBe(sim.seeds.running[0]);
    } finally {
      await again.close();
      await other.close();
    }
  });

  it('answers the documented fields for each state', async () => {
    const starting = (await get(sim.seeds.queued[0]!)).json!;
    expect(starting.started_at).toBeNull();
    expect(starting.completed_at).toBeNull();
    expect(starting.output).toBeNull();
    expect(starting.metrics).toEqual({});

    const processing = (await get(sim.seeds.running[0]!)).json!;
    expect(processing.started_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(processing.completed_at).toBeNull();
    expect(processing.logs).toContain('Using seed');

    const succeeded = (await get(sim.seeds.succeeded[0]!)).json!;
    expect(succeeded.output).toEqual([expect.stringMatching(/^https:\/\/replicate\.delivery\//)]);
    expect(succeeded.error).toBeNull();
    expect(succeeded.metrics.predict_time).toBeGreaterThan(0);
    expect(Date.parse(succeeded.completed_at)).toBeLessThanOrEqual(clock.now());

    const failed = (await get(sim.seeds.failed[0]!)).json!;
    expect(failed.output).toBeNull();
    expect(typeof failed.error).toBe('string');
    expect(failed.metrics.predict_time).toBe(60);

    const canceled = (await get(sim.seeds.cancelled[0]!)).json!;
    expect(canceled.completed_at).not.toBeNull();
    expect((await get(sim.seeds.long_running[0]!)).json?.urls.stream).toMatch(/^https:\/\/stream\.replicate\.com\//);
  });

  it('moves a prediction on as the clock advances (starting -> processing -> succeeded)', async () => {
    const id = sim.addPrediction({ status: 'starting', startsInMs: 10_000, runsForMs: 60_000 });
    expect((await get(id)).json?.status).toBe('starting');
    clock.advance(10_000);
    expect((await get(id)).json?.status).toBe('processing');
    clock.advance(60_000);
    const done = (await get(id)).json!;
    expect(done.status).toBe('succeeded');
    expect(done.metrics.predict_time).toBe(60);
    expect(sim.prediction(id)?.status).toBe('succeeded');
  });

  it('cancels a starting or processing prediction and answers it canceled', async () => {
    const ids = [sim.seeds.queued[0]!, sim.seeds.running[0]!, sim.seeds.long_running[0]!];
    for (const id of ids) {
      const res = await cancel(id);
      expect(res.status).toBe(200);
      expect(res.json?.id).toBe(id);
      expect(res.json?.status).toBe('canceled');
      expect(Date.parse(res.json?.completed_at)).toBe(clock.now());
    }
    // A cancelled prediction stays cancelled after its planned end has passed.
    clock.advance(6 * 60 * 60_000);
    for (const id of ids) expect((await get(id)).json?.status).toBe('canceled');
    expect((await get(ids[0]!)).json?.metrics).toEqual({});
    expect((await get(ids[1]!)).json?.metrics.predict_time).toBe(30);
  });

  it('answers 200 with the unchanged prediction when cancelling a finished one', async () => {
    for (const [id, status] of [
      [sim.seeds.succeeded[0]!, 'succeeded'],
      [sim.seeds.failed[0]!, 'failed'],
      [sim.seeds.cancelled[0]!, 'canceled'],
    ] as const) {
      const before = (await get(id)).json;
      const res = await cancel(id);
      expect(res.status).toBe(200);
      expect(res.json?.status).toBe(status);
      expect(res.json).toEqual(before);
      expect(sim.prediction(id)?.cancelRequests).toBe(1);
    }
  });

  it('can answer the undocumented terminal `aborted`, which cancel leaves as it is', async () => {
    const id = sim.addPrediction({ status: 'aborted', endedAgoMs: 60_000 });
    expect((await get(id)).json).toMatchObject({ status: 'aborted', output: null, completed_at: expect.any(String) });
    expect((await cancel(id)).json?.status).toBe('aborted');
  });

  it('answers 404 {"detail": "Not found."} for an unknown prediction, on read and cancel', async () => {
    for (const res of [await get('gm3qorzdhgbfurvjtvhg6dckhu'), await cancel('gm3qorzdhgbfurvjtvhg6dckhu')]) {
      expect(res.status).toBe(404);
      expect(res.json).toEqual({ detail: 'Not found.' });
    }
  });

  it('accepts Bearer and Token schemes and answers 401 problem details otherwise, before any lookup', async () => {
    const id = sim.seeds.running[0]!;
    expect((await call('GET', `/predictions/${id}`, `Token ${TOKEN}`)).status).toBe(200);
    for (const auth of [null, 'Bearer wrong', `Key ${TOKEN}`, TOKEN]) {
      const res = await call('GET', `/predictions/${id}`, auth);
      expect(res.status).toBe(401);
      expect(res.json).toEqual({ title: 'Unauthenticated', detail: 'You did not pass a valid authentication token', status: 401 });
    }
    expect((await call('GET', '/predictions/unknown', null)).status).toBe(401);
    expect((await call('POST', `/predictions/${id}/cancel`, 'Bearer wrong')).status).toBe(401);
    expect(sim.prediction(id)?.status).toBe('processing');
  });

  it('pages the list newest first, 100 per page, walking every prediction exactly once both ways', async () => {
    for (let i = 0; i < 2 * REPLICATE_PAGE_SIZE + 17; i++) {
      clock.advance(1_000);
      sim.addPrediction({ status: i % 2 === 0 ? 'succeeded' : 'processing', runsForMs: null });
    }
    const total = 2 * REPLICATE_PAGE_SIZE + 17 + 6 + 4; // and the six seeds and the account's four older web predictions
    const seen: string[] = [];
    const pages: Record<string, any>[] = [];
    let res = await call('GET', '/predictions');
    expect(res.json?.previous).toBeNull();
    for (;;) {
      expect(res.status).toBe(200);
      pages.push(res.json!);
      const results = res.json?.results as Record<string, any>[];
      expect(results.length).toBeLessThanOrEqual(REPLICATE_PAGE_SIZE);
      for (const r of results) {
        expect(r).not.toHaveProperty('logs');
        seen.push(r.id as string);
      }
      const next = res.json?.next as string | null;
      if (next === null) break;
      expect(next).toMatch(new RegExp(`^${sim.baseUrl}/predictions\\?cursor=`));
      res = await call('GET', next);
    }
    expect(pages.map((p) => p.results.length)).toEqual([100, 100, 27]);
    expect(new Set(seen).size).toBe(total);
    expect(seen).toHaveLength(total);
    const created = await Promise.all(seen.slice(0, 5).map(async (id) => Date.parse((await get(id)).json?.created_at)));
    expect([...created].sort((a, b) => b - a)).toEqual(created);

    // Walking back from the last page with `previous` gives the same pages.
    let back = pages[pages.length - 1]!;
    for (let i = pages.length - 2; i >= 0; i--) {
      const prev = await call('GET', back.previous as string);
      expect(prev.json?.results.map((r: any) => r.id)).toEqual(pages[i]!.results.map((r: any) => r.id));
      back = prev.json!;
    }
    expect(back.previous).toBeNull();
  });

  it('answers 404 {"detail": "Invalid cursor"} for a cursor it did not issue', async () => {
    const res = await call('GET', '/predictions?cursor=not-a-cursor');
    expect(res.status).toBe(404);
    expect(res.json).toEqual({ detail: 'Invalid cursor' });
  });

  it('removes input, output and logs of an API prediction an hour after it finishes, but not of a web one', async () => {
    const api = sim.addPrediction({ status: 'succeeded', endedAgoMs: 1_000, source: 'api' });
    const web = sim.addPrediction({ status: 'succeeded', endedAgoMs: 1_000, source: 'web' });
    expect((await get(api)).json).toMatchObject({ data_removed: false, status: 'succeeded' });
    clock.advance(REPLICATE_DATA_RETENTION_MS);
    const removed = (await get(api)).json!;
    expect(removed).toMatchObject({ data_removed: true, status: 'succeeded', input: {}, output: null, logs: '' });
    expect((await get(web)).json).toMatchObject({ data_removed: false, output: [expect.any(String)] });
  });

  it('records requests and rejects other methods with 405', async () => {
    const id = sim.seeds.running[0]!;
    const res = await call('DELETE', `/predictions/${id}`);
    expect(res.status).toBe(405);
    expect(sim.server.requests.at(-1)).toMatchObject({ method: 'DELETE', path: `/v1/predictions/${id}` });
    expect((await call('GET', `/predictions/${id}/cancel`)).status).toBe(405);
  });

  it('starts empty when seeding is off', async () => {
    const empty = await startReplicateSim({ token: TOKEN, clock, seed: false });
    try {
      expect(Object.values(empty.seeds).flat()).toEqual([]);
      const res = await fetch(`${empty.baseUrl}/predictions`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(await res.json()).toEqual({ previous: null, next: null, results: [] });
    } finally {
      await empty.close();
    }
  });
});
