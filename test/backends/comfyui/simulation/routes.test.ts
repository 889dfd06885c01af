// The routes every simulated ComfyUI server has: /queue, /history, /interrupt.
import { describe, expect, it } from 'vitest';
import type { HistoryEntry } from '../../../../src/backends/comfyui/simulation/server.ts';
import { call, closeSimsAfterEach, ids, start } from '../../../helpers/comfyui-sim.ts';

closeSimsAfterEach();

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
    expect(err[1]).toMatchObject({
      prompt_id: failed,
      node_id: expect.any(String),
      node_type: expect.any(String),
      exception_message: expect.any(String),
      exception_type: expect.any(String),
    });
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

describe('ComfyUI simulation: POST /interrupt', () => {
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
});
