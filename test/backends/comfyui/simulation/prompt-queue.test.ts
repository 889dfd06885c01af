// The simulated PromptQueue and its worker: heap order, one job at a time from the clock, the history
// cap, and cooperative interrupts.
import { describe, expect, it } from 'vitest';
import { call, closeSimsAfterEach, start } from '../../../helpers/comfyui-sim.ts';

closeSimsAfterEach();

describe('ComfyUI simulation: the queue and its worker', () => {
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
    const failed = sim.submit({ durationMs: 1000, ending: 'error', errorNode: '8', errorMessage: 'boom' });
    clock.advance(1000);
    const e = sim.historyEntry(failed)!;
    expect(e.status!.messages.at(-1)![1]).toMatchObject({ node_id: '8', node_type: 'VAEDecode', exception_message: 'boom' });
  });

  it('an interrupt is cooperative: the running job stops only after the latency, then lands in history as interrupted', async () => {
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
