// POST /prompt on the simulated ComfyUI server, current and legacy.
import { describe, expect, it } from 'vitest';
import { call, closeSimsAfterEach, ids, start } from '../../../helpers/comfyui-sim.ts';

closeSimsAfterEach();

const prompt = { '1': { class_type: 'EmptyImage', inputs: {} }, '2': { class_type: 'SaveImage', inputs: { images: ['1', 0] } } };

describe('ComfyUI simulation: POST /prompt', () => {
  it('queues a prompt and answers prompt_id, number and node_errors', async () => {
    const { sim } = await start({ api: 'jobs', seed: false });
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

  it('legacy servers run the job under whatever prompt_id they are given: str() of it, case and all', async () => {
    const { sim, clock } = await start({ api: 'legacy', seed: false });
    const upper = '0B5F2F4E-8A4C-4C3E-9A51-0D6A2C7B9E11';
    const given: Array<[unknown, string]> = [
      ['render-42', 'render-42'],
      [upper, upper],
      ['a/b {c}', 'a/b {c}'],
      [42, '42'],
      [true, 'True'],
      [null, 'None'],
      [['x', 1], "['x', 1]"],
    ];
    for (const [prompt_id, id] of given) {
      const r = await call(sim, 'POST', '/prompt', { prompt, prompt_id, number: 0 });
      expect([r.status, r.json]).toEqual([200, { prompt_id: id, number: 0, node_errors: {} }]);
    }
    expect(ids([...sim.queue().running, ...sim.queue().pending]).sort()).toEqual(given.map(([, id]) => id).sort());
    // An id it already holds is queued again (0.3.64 does; current servers answer 409): two jobs, one id.
    const again = await call(sim, 'POST', '/prompt', { prompt, prompt_id: 'render-42' });
    expect([again.status, again.json]).toEqual([200, { prompt_id: 'render-42', number: 0, node_errors: {} }]);
    expect(ids([...sim.queue().running, ...sim.queue().pending]).filter((id) => id === 'render-42')).toHaveLength(2);
    clock.advance((given.length + 1) * 20_000);
    // History is keyed by id: the later run's entry takes the earlier one's place.
    const history = (await call(sim, 'GET', '/history')).json as Record<string, unknown>;
    expect(Object.keys(history)).toHaveLength(given.length);
    expect(Object.keys((await call(sim, 'GET', '/history/render-42')).json)).toEqual(['render-42']);
    expect(Object.keys((await call(sim, 'GET', `/history/${upper}`)).json)).toEqual([upper]);
    expect((await call(sim, 'GET', `/history/${upper.toLowerCase()}`)).json).toEqual({});
  });
});
