import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { ManualClock } from '../../src/sandbox/clock.ts';
import { startComfyuiSim, type ComfyuiSim, type ComfyuiSimOptions, type HistoryEntry, type QueueItem } from '../../src/sandbox/comfyui.ts';
import { seededUuid } from '../../src/sandbox/simulation.ts';

const sims: ComfyuiSim[] = [];
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()));
});

async function start(options: Partial<ComfyuiSimOptions> & { api: 'jobs' | 'legacy' }): Promise<{ sim: ComfyuiSim; clock: ManualClock }> {
  const clock = new ManualClock();
  const sim = await startComfyuiSim({ clock, ...options });
  sims.push(sim);
  return { sim, clock };
}

interface Answer {
  status: number;
  type: string | undefined;
  text: string;
  json: any;
}

async function call(sim: ComfyuiSim, method: 'GET' | 'POST', path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await request(sim.server.url + path, {
    method,
    headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const type = res.headers['content-type'];
  return { status: res.statusCode, type: Array.isArray(type) ? type[0] : type, text, json };
}

const ids = (items: QueueItem[]) => items.map((i) => i[1]);

describe('ComfyUI simulation: seeds', () => {
  it('seeds one job per state, deterministic per namespace, with one running job per host', async () => {
    const { sim } = await start({ api: 'jobs', namespace: 'gpu1' });
    expect(sim.kind).toBe('comfyui');
    expect(sim.seeds.succeeded).toEqual([seededUuid('gpu1', 1)]);
    expect(sim.seeds.failed).toHaveLength(1);
    expect(sim.seeds.cancelled).toHaveLength(1);
    expect(sim.seeds.running).toHaveLength(1);
    expect(sim.seeds.long_running).toHaveLength(0);
    expect(sim.seeds.queued.length).toBeGreaterThanOrEqual(2);
    const q = sim.queue();
    expect(ids(q.running)).toEqual(sim.seeds.running);
    expect(new Set(ids(q.pending))).toEqual(new Set(sim.seeds.queued));
    for (const id of [...sim.seeds.succeeded, ...sim.seeds.failed, ...sim.seeds.cancelled]) expect(sim.stateOf(id)).toBe('history');

    const other = await start({ api: 'legacy', namespace: 'gpu2', seedRunning: 'long_running' });
    expect(other.sim.kind).toBe('comfyui_legacy');
    expect(other.sim.seeds.running).toHaveLength(0);
    expect(other.sim.seeds.long_running).toHaveLength(1);
    const all1 = Object.values(sim.seeds).flat();
    const all2 = Object.values(other.sim.seeds).flat();
    expect(all1.filter((id) => all2.includes(id))).toEqual([]);
  });

  it('the seeded running job finishes in about ten minutes; the long-running one runs for hours', async () => {
    const { sim, clock } = await start({ api: 'jobs' });
    const { sim: longSim } = await start({ api: 'jobs', seedRunning: 'long_running', clock, namespace: 'long' });
    clock.advance(15 * 60_000);
    expect(sim.stateOf(sim.seeds.running[0]!)).toBe('history');
    expect(longSim.stateOf(longSim.seeds.long_running[0]!)).toBe('running');
  });

  it('seeds nothing when asked', async () => {
    const { sim } = await start({ api: 'jobs', seed: false });
    expect(Object.values(sim.seeds).flat()).toEqual([]);
    expect((await call(sim, 'GET', '/queue')).json).toEqual({ queue_running: [], queue_pending: [] });
  });
});

describe('ComfyUI simulation: routes', () => {
  it('answers every route under /api too; the jobs API exists as /api/jobs and /api/api/jobs, never /jobs', async () => {
    const { sim } = await start({ api: 'jobs' });
    const a = await call(sim, 'GET', '/queue');
    const b = await call(sim, 'GET', '/api/queue');
    expect(a.status).toBe(200);
    expect(b.json).toEqual(a.json);
    expect((await call(sim, 'GET', '/api/system_stats')).json.system.comfyui_version).toMatch(/^\d+\.\d+\.\d+$/);
    expect((await call(sim, 'GET', '/api/prompt')).json).toEqual({ exec_info: { queue_remaining: 1 + sim.seeds.queued.length } });

    const id = sim.seeds.succeeded[0]!;
    expect((await call(sim, 'GET', `/api/jobs/${id}`)).json.status).toBe('completed');
    expect((await call(sim, 'GET', `/api/api/jobs/${id}`)).json.status).toBe('completed');
    const noJobs = await call(sim, 'GET', `/jobs/${id}`);
    expect(noJobs.status).toBe(404);
    expect(noJobs.text).toBe('404: Not Found');
    expect(noJobs.type).toMatch(/^text\/plain/);
  });

  it('answers unknown routes with aiohttp plain text 404 and a wrong method with 405', async () => {
    const { sim } = await start({ api: 'jobs' });
    const nf = await call(sim, 'GET', '/nope');
    expect([nf.status, nf.text]).toEqual([404, '404: Not Found']);
    expect((await call(sim, 'GET', '/queue/')).status).toBe(404);
    const na = await call(sim, 'GET', '/interrupt');
    expect([na.status, na.text]).toEqual([405, '405: Method Not Allowed']);
  });

  it('in legacy mode the jobs routes do not exist (plain 404), and old servers send no create_time', async () => {
    const { sim } = await start({ api: 'legacy' });
    for (const path of ['/api/jobs', `/api/jobs/${sim.seeds.running[0]}`, '/api/api/jobs']) {
      const r = await call(sim, 'GET', path);
      expect(r.status).toBe(404);
      expect(r.text).toBe('404: Not Found');
      expect(r.type).toMatch(/^text\/plain/);
    }
    expect((await call(sim, 'POST', `/api/jobs/${sim.seeds.running[0]}/cancel`)).status).toBe(404);
    const q = (await call(sim, 'GET', '/queue')).json;
    expect(q.queue_running[0][3]).not.toHaveProperty('create_time');
    expect((await call(sim, 'GET', '/system_stats')).json.system.comfyui_version).toMatch(/^v\d/);
  });

  it('refuses a loopback request whose Origin differs (403), or a cross-site fetch; accepts a matching Origin', async () => {
    const { sim } = await start({ api: 'jobs' });
    expect((await call(sim, 'GET', '/queue', undefined, { origin: 'http://evil.example' })).status).toBe(403);
    expect((await call(sim, 'POST', '/interrupt', undefined, { origin: 'https://attacker.test' })).status).toBe(403);
    expect((await call(sim, 'GET', '/queue', undefined, { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await call(sim, 'GET', '/queue', undefined, { origin: `http://127.0.0.1:${sim.server.port}` })).status).toBe(200);
    // The refused interrupt did nothing.
    expect(sim.stateOf(sim.seeds.running[0]!)).toBe('running');
  });
});

describe('ComfyUI simulation: queue and history', () => {
  it('copies queue_pending verbatim from its heap: 5-element items, not sorted by number', async () => {
    const { sim } = await start({ api: 'jobs' });
    const q = (await call(sim, 'GET', '/queue')).json;
    expect(q.queue_running).toHaveLength(1);
    for (const item of [...q.queue_running, ...q.queue_pending]) expect(item).toHaveLength(5);
    const numbers = q.queue_pending.map((i: unknown[]) => i[0] as number);
    expect(numbers[0]).toBe(Math.min(...numbers)); // only the head is guaranteed
    expect(numbers).not.toEqual([...numbers].sort((x, y) => x - y));
  });

  it('keeps heapq order through pushes, pops and deletes', async () => {
    const { sim } = await start({ api: 'jobs', seed: false });
    // The first submit starts running at once; the rest wait in the heap.
    sim.submit({ durationMs: 1000 });
    const n = [5, 3, 8, 1, 9, 2].map((number) => sim.submit({ number, durationMs: 1000 }));
    // CPython heapq after pushing 5, 3, 8, 1, 9, 2: [1, 3, 2, 5, 9, 8]
    expect(sim.queue().pending.map((i) => i[0])).toEqual([1, 3, 2, 5, 9, 8]);
    // delete_queue_item pops the match and heapifies: removing 3 gives [1, 2, 5, 9, 8]
    await call(sim, 'POST', '/queue', { delete: [n[1]] });
    expect(sim.queue().pending.map((i) => i[0])).toEqual([1, 2, 5, 9, 8]);
  });

  it('GET /history/{id} answers {} for pending, running and unknown ids, and the entry once finished', async () => {
    const { sim } = await start({ api: 'legacy' });
    for (const id of [sim.seeds.queued[0]!, sim.seeds.running[0]!, '00000000-0000-4000-8000-000000000000']) {
      expect((await call(sim, 'GET', `/history/${id}`)).json).toEqual({});
    }
    const ok = sim.seeds.succeeded[0]!;
    const entry: HistoryEntry = (await call(sim, 'GET', `/history/${ok}`)).json[ok];
    expect(entry.prompt).toHaveLength(5);
    expect(entry.prompt[1]).toBe(ok);
    expect(entry.status).toMatchObject({ status_str: 'success', completed: true });
    expect(entry.status!.messages.map((m) => m[0])).toEqual(['execution_start', 'execution_cached', 'execution_success']);
    const startedAt = entry.status!.messages[0]![1].timestamp as number;
    expect(startedAt).toBeGreaterThan(1e12); // milliseconds
    const image = Object.values(entry.outputs)[0]!.images as Array<Record<string, string>>;
    expect(image[0]).toMatchObject({ subfolder: '', type: 'output' });
    expect(image[0]!.filename).toMatch(/\.png$/);
    expect(Object.values(entry.meta)[0]).toHaveProperty('real_node_id');

    const failed = sim.seeds.failed[0]!;
    const f: HistoryEntry = (await call(sim, 'GET', `/history/${failed}`)).json[failed];
    expect(f.status).toMatchObject({ status_str: 'error', completed: false });
    const err = f.status!.messages.at(-1)!;
    expect(err[0]).toBe('execution_error');
    expect(err[1]).toMatchObject({ prompt_id: failed, node_id: expect.any(String), node_type: expect.any(String), exception_message: expect.any(String), exception_type: expect.any(String) });
    expect(err[1].traceback).toBeInstanceOf(Array);

    const cancelled = sim.seeds.cancelled[0]!;
    const c: HistoryEntry = (await call(sim, 'GET', `/history/${cancelled}`)).json[cancelled];
    expect(c.status).toMatchObject({ status_str: 'error', completed: false });
    expect(c.status!.messages.at(-1)![0]).toBe('execution_interrupted');
  });

  it('GET /history honours max_items (the last N) and offset', async () => {
    const { sim } = await start({ api: 'jobs' });
    const order = Object.keys((await call(sim, 'GET', '/history')).json);
    expect(order).toEqual([...sim.seeds.succeeded, ...sim.seeds.failed, ...sim.seeds.cancelled]);
    expect(Object.keys((await call(sim, 'GET', '/history?max_items=1')).json)).toEqual(sim.seeds.cancelled);
    expect(Object.keys((await call(sim, 'GET', '/history?max_items=1&offset=1')).json)).toEqual(sim.seeds.failed);
    expect((await call(sim, 'GET', '/history?max_items=x')).status).toBe(500);
  });

  it('caps history, dropping the oldest entries', async () => {
    const { sim, clock } = await start({ api: 'jobs', seed: false, historyLimit: 2 });
    const a = sim.submit({ durationMs: 10 });
    const b = sim.submit({ durationMs: 10 });
    const c = sim.submit({ durationMs: 10 });
    clock.advance(100);
    expect(Object.keys(sim.history())).toEqual([b, c]);
    expect(sim.stateOf(a)).toBe('absent');
  });

  it('runs one job at a time, in heap order, from the clock', async () => {
    const { sim, clock } = await start({ api: 'jobs', seed: false });
    const a = sim.submit({ durationMs: 60_000 });
    const b = sim.submit({ durationMs: 30_000 });
    const c = sim.submit({ durationMs: 30_000, front: true });
    expect([sim.stateOf(a), sim.stateOf(b), sim.stateOf(c)]).toEqual(['running', 'pending', 'pending']);
    clock.advance(60_000);
    expect([sim.stateOf(a), sim.stateOf(c), sim.stateOf(b)]).toEqual(['history', 'running', 'pending']);
    clock.advance(60_000);
    expect([sim.stateOf(c), sim.stateOf(b)]).toEqual(['history', 'history']);
    const failed = sim.submit({ durationMs: 1000, outcome: 'error', errorNode: '8', errorMessage: 'boom' });
    clock.advance(1000);
    const e = sim.historyEntry(failed)!;
    expect(e.status!.messages.at(-1)![1]).toMatchObject({ node_id: '8', node_type: 'VAEDecode', exception_message: 'boom' });
  });

  it('POST /queue {delete} only removes pending jobs and always answers an empty 200', async () => {
    const { sim, clock } = await start({ api: 'jobs' });
    const running = sim.seeds.running[0]!;
    const pending = sim.seeds.queued[0]!;
    for (const del of [[running], ['00000000-0000-4000-8000-000000000000'], [pending]]) {
      const r = await call(sim, 'POST', '/queue', { delete: del });
      expect([r.status, r.text]).toEqual([200, '']);
    }
    expect(sim.stateOf(running)).toBe('running');
    // The deleted pending job vanishes: no history entry, ever, and the jobs API does not know it.
    expect(sim.stateOf(pending)).toBe('absent');
    clock.advance(24 * 3600_000);
    expect(sim.stateOf(pending)).toBe('absent');
    expect((await call(sim, 'GET', `/history/${pending}`)).json).toEqual({});
    expect((await call(sim, 'GET', `/api/jobs/${pending}`)).status).toBe(404);
  });

  it('POST /queue {clear} empties the pending queue but leaves the running job alone', async () => {
    const { sim } = await start({ api: 'jobs' });
    expect((await call(sim, 'POST', '/queue', { clear: true })).status).toBe(200);
    const q = sim.queue();
    expect(q.pending).toEqual([]);
    expect(ids(q.running)).toEqual(sim.seeds.running);
  });
});

describe('ComfyUI simulation: interrupt', () => {
  it('is cooperative: the running job stops only after the latency, then lands in history as interrupted', async () => {
    const { sim, clock } = await start({ api: 'jobs', interruptLatencyMs: 5000 });
    const id = sim.seeds.running[0]!;
    const r = await call(sim, 'POST', '/interrupt', { prompt_id: id });
    expect([r.status, r.text]).toEqual([200, '']);
    clock.advance(4999);
    expect(sim.stateOf(id)).toBe('running');
    clock.advance(1);
    const e = sim.historyEntry(id)!;
    expect(e.status).toMatchObject({ status_str: 'error', completed: false });
    expect(e.status!.messages.at(-1)![0]).toBe('execution_interrupted');
    // The next job started with a fresh flag and runs on.
    const next = sim.queue().running[0]![1];
    clock.advance(60_000);
    expect(sim.stateOf(next)).toBe('running');
  });

  it('skips a targeted interrupt whose id is not running (still an empty 200)', async () => {
    const { sim, clock } = await start({ api: 'jobs' });
    const r = await call(sim, 'POST', '/interrupt', { prompt_id: sim.seeds.queued[0] });
    expect([r.status, r.text]).toEqual([200, '']);
    clock.advance(10_000);
    expect(sim.stateOf(sim.seeds.running[0]!)).toBe('running');
  });

  it('no body or {} is a global interrupt of whatever runs', async () => {
    for (const body of [undefined, {}]) {
      const { sim, clock } = await start({ api: 'jobs' });
      expect((await call(sim, 'POST', '/api/interrupt', body)).status).toBe(200);
      clock.advance(2000);
      expect(sim.historyEntry(sim.seeds.running[0]!)?.status?.messages.at(-1)?.[0]).toBe('execution_interrupted');
    }
  });

  it('legacy servers ignore the body: an interrupt naming another job still kills the running one', async () => {
    const { sim, clock } = await start({ api: 'legacy' });
    const running = sim.seeds.running[0]!;
    expect((await call(sim, 'POST', '/interrupt', { prompt_id: sim.seeds.queued[0] })).status).toBe(200);
    clock.advance(2000);
    expect(sim.historyEntry(running)?.status?.messages.at(-1)?.[0]).toBe('execution_interrupted');
  });

  it('an interrupt while idle is harmless: the flag is reset when the next prompt starts', async () => {
    const { sim, clock } = await start({ api: 'jobs', seed: false });
    expect((await call(sim, 'POST', '/interrupt')).status).toBe(200);
    const id = sim.submit({ durationMs: 10_000 });
    clock.advance(10_000);
    expect(sim.historyEntry(id)?.status?.status_str).toBe('success');
  });

  it('a job that reaches its end before honouring the interrupt finishes normally', async () => {
    const { sim, clock } = await start({ api: 'jobs', seed: false, interruptLatencyMs: 5000 });
    const id = sim.submit({ durationMs: 3000 });
    clock.advance(1000);
    await call(sim, 'POST', '/interrupt', { prompt_id: id });
    clock.advance(10_000);
    expect(sim.historyEntry(id)?.status?.status_str).toBe('success');
  });
});

describe('ComfyUI simulation: POST /prompt', () => {
  it('queues a prompt and answers prompt_id, number and node_errors', async () => {
    const { sim } = await start({ api: 'jobs', seed: false });
    const prompt = { '1': { class_type: 'EmptyImage', inputs: {} }, '2': { class_type: 'SaveImage', inputs: { images: ['1', 0] } } };
    const a = await call(sim, 'POST', '/prompt', { prompt, client_id: 'me' });
    expect(a.status).toBe(200);
    expect(a.json).toMatchObject({ prompt_id: expect.stringMatching(/^[0-9a-f-]{36}$/), number: 0, node_errors: {} });
    const own = '0b5f2f4e-8a4c-4c3e-9a51-0d6a2c7b9e11';
    const b = await call(sim, 'POST', '/api/prompt', { prompt, prompt_id: own, front: true });
    expect(b.json).toMatchObject({ prompt_id: own, number: -1 });
    expect(sim.stateOf(own)).toBe('pending');
    expect(sim.queue().pending[0]![3]).toHaveProperty('create_time');
  });

  it('rejects a non-canonical prompt_id (400, object error), an existing one (409, string error), and empty prompts', async () => {
    const { sim } = await start({ api: 'jobs' });
    const prompt = { '9': { class_type: 'SaveImage', inputs: {} } };
    const bad = await call(sim, 'POST', '/prompt', { prompt, prompt_id: 'ABC' });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatchObject({ type: 'invalid_prompt_id' });
    const upper = await call(sim, 'POST', '/prompt', { prompt, prompt_id: sim.seeds.queued[0]!.toUpperCase() });
    expect(upper.json.error.type).toBe('invalid_prompt_id');
    const dup = await call(sim, 'POST', '/prompt', { prompt, prompt_id: sim.seeds.succeeded[0] });
    expect(dup.status).toBe(409);
    expect(dup.json).toEqual({ error: 'prompt_id already exists' });
    const empty = await call(sim, 'POST', '/prompt', { prompt: {} });
    expect(empty.status).toBe(400);
    expect(empty.json.error).toMatchObject({ type: 'prompt_no_outputs', message: expect.any(String) });
    const none = await call(sim, 'POST', '/prompt', {});
    expect(none.json.error).toMatchObject({ type: 'no_prompt' });
    expect((await call(sim, 'POST', '/prompt', 'not json')).status).toBe(500);
  });

  it('legacy servers answer a missing prompt with a string error', async () => {
    const { sim } = await start({ api: 'legacy' });
    const none = await call(sim, 'POST', '/prompt', {});
    expect(none.status).toBe(400);
    expect(none.json).toEqual({ error: 'no prompt', node_errors: [] });
  });
});

describe('ComfyUI simulation: jobs API', () => {
  it('maps queue and history onto pending / in_progress / completed / failed / cancelled', async () => {
    const { sim } = await start({ api: 'jobs' });
    const get = async (id: string) => (await call(sim, 'GET', `/api/jobs/${id}`)).json;
    expect((await get(sim.seeds.queued[0]!)).status).toBe('pending');
    const running = await get(sim.seeds.running[0]!);
    expect(running).toMatchObject({ status: 'in_progress', priority: expect.any(Number), create_time: expect.any(Number), workflow: expect.any(Object) });
    expect(running).not.toHaveProperty('execution_start_time'); // absent keys are dropped
    const ok = await get(sim.seeds.succeeded[0]!);
    expect(ok).toMatchObject({ status: 'completed', outputs_count: 1, execution_start_time: expect.any(Number), execution_end_time: expect.any(Number) });
    expect(ok.outputs).toEqual(sim.historyEntry(sim.seeds.succeeded[0]!)!.outputs);
    expect(ok.execution_status.status_str).toBe('success');
    expect(ok.preview_output).toMatchObject({ mediaType: 'images', type: 'output' });
    const failed = await get(sim.seeds.failed[0]!);
    expect(failed.status).toBe('failed');
    expect(failed.execution_error).toMatchObject({ exception_message: expect.any(String), node_id: expect.any(String) });
    expect((await get(sim.seeds.cancelled[0]!)).status).toBe('cancelled');
    const missing = await call(sim, 'GET', '/api/jobs/00000000-0000-4000-8000-000000000000');
    expect([missing.status, missing.json]).toEqual([404, { error: 'Job not found' }]);
  });

  it('lists jobs with a status filter and pagination; an invalid status is a 400', async () => {
    const { sim } = await start({ api: 'jobs' });
    const all = (await call(sim, 'GET', '/api/jobs')).json;
    expect(all.pagination).toMatchObject({ offset: 0, limit: null, total: 3 + 1 + sim.seeds.queued.length, has_more: false });
    const pending = (await call(sim, 'GET', '/api/jobs?status=pending,in_progress&limit=2&offset=1')).json;
    expect(pending.jobs).toHaveLength(2);
    expect(pending.pagination).toMatchObject({ offset: 1, limit: 2, total: 1 + sim.seeds.queued.length, has_more: true });
    expect(pending.jobs[0]).not.toHaveProperty('workflow');
    const bad = await call(sim, 'GET', '/api/jobs?status=running');
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/^Invalid status value\(s\): running/);
  });

  it('cancel: pending jobs vanish, running ones are interrupted cooperatively, the rest is {"cancelled": false}', async () => {
    const { sim, clock } = await start({ api: 'jobs' });
    const pending = sim.seeds.queued[0]!;
    const running = sim.seeds.running[0]!;
    expect((await call(sim, 'POST', `/api/jobs/${pending}/cancel`)).json).toEqual({ cancelled: true });
    expect((await call(sim, 'GET', `/api/jobs/${pending}`)).status).toBe(404);
    expect((await call(sim, 'POST', `/api/jobs/${pending}/cancel`)).json).toEqual({ cancelled: false });
    expect((await call(sim, 'POST', `/api/api/jobs/${running}/cancel`)).json).toEqual({ cancelled: true });
    expect((await call(sim, 'GET', `/api/jobs/${running}`)).json.status).toBe('in_progress');
    clock.advance(2000);
    expect((await call(sim, 'GET', `/api/jobs/${running}`)).json.status).toBe('cancelled');
    expect((await call(sim, 'POST', `/api/jobs/${running}/cancel`)).json).toEqual({ cancelled: false });
    expect((await call(sim, 'POST', `/api/jobs/${sim.seeds.succeeded[0]}/cancel`)).json).toEqual({ cancelled: false });
    // No id validation on the single cancel.
    expect((await call(sim, 'POST', '/api/jobs/not-a-uuid/cancel')).json).toEqual({ cancelled: false });
  });

  it('batch cancel rejects malformed ids with 400 and treats unknown ones as no-ops', async () => {
    const { sim } = await start({ api: 'jobs' });
    const bad = await call(sim, 'POST', '/api/jobs/cancel', { job_ids: ['NOT-A-UUID', 5] });
    expect(bad.status).toBe(400);
    expect(bad.json).toEqual({ error: 'job_ids contains invalid id(s)', invalid_ids: ['NOT-A-UUID', '5'] });
    const none = await call(sim, 'POST', '/api/jobs/cancel', { job_ids: ['00000000-0000-4000-8000-000000000000'] });
    expect(none.json).toEqual({ cancelled: false });
    const some = await call(sim, 'POST', '/api/jobs/cancel', { job_ids: [sim.seeds.queued[1], '00000000-0000-4000-8000-000000000000'] });
    expect(some.json).toEqual({ cancelled: true });
    expect(sim.stateOf(sim.seeds.queued[1]!)).toBe('absent');
  });
});
