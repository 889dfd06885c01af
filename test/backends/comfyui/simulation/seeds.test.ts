// The jobs a simulated ComfyUI host starts with.
import { describe, expect, it } from 'vitest';
import { seededUuid } from '../../../../src/simulation/simulation.ts';
import { call, closeSimsAfterEach, ids, start } from '../../../helpers/comfyui-sim.ts';

closeSimsAfterEach();

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

  it('a legacy host also holds a finished job under a client-chosen id that is not a UUID', async () => {
    const { sim } = await start({ api: 'legacy', namespace: 'gpu3' });
    const [uuid, chosen] = sim.seeds.succeeded;
    expect(uuid).toBe(seededUuid('gpu3', 1));
    expect(chosen).toMatch(/^render-[0-9a-f]{5}$/);
    expect(sim.historyEntry(chosen!)?.status?.status_str).toBe('success');
    expect((await call(sim, 'GET', `/history/${chosen}`)).json[chosen!].prompt[1]).toBe(chosen);
    // Another namespace, another id; the same namespace, the same id.
    const other = await start({ api: 'legacy', namespace: 'gpu4' });
    expect(other.sim.seeds.succeeded[1]).not.toBe(chosen);
    const again = await start({ api: 'legacy', namespace: 'gpu3' });
    expect(again.sim.seeds.succeeded[1]).toBe(chosen);
    // The ids docs/agents.md names: run alone (src/sandbox/main.ts), and as the sandbox config's fourth service (index 3).
    expect((await start({ api: 'legacy', namespace: 'comfyui_legacy:standalone' })).sim.seeds.succeeded[1]).toBe('render-8bee5');
    expect((await start({ api: 'legacy', namespace: 'comfyui_legacy:3' })).sim.seeds.succeeded[1]).toBe('render-a4c82');
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
