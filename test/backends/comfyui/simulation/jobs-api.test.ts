// The jobs API of the simulated current ComfyUI server.
import { describe, expect, it } from 'vitest';
import { call, closeSimsAfterEach, start } from '../../../helpers/comfyui-sim.ts';

closeSimsAfterEach();

describe('ComfyUI simulation: jobs API', () => {
  it('maps queue and history onto pending / in_progress / completed / failed / cancelled', async () => {
    const { sim } = await start({ api: 'jobs' });
    const get = async (id: string) => (await call(sim, 'GET', `/api/jobs/${id}`)).json;
    expect((await get(sim.seeds.queued[0]!)).status).toBe('pending');
    const running = await get(sim.seeds.running[0]!);
    expect(running).toMatchObject({
      status: 'in_progress',
      priority: expect.any(Number),
      create_time: expect.any(Number),
      workflow: expect.any(Object),
    });
    expect(running).not.toHaveProperty('execution_start_time'); // absent keys are dropped
    const ok = await get(sim.seeds.succeeded[0]!);
    expect(ok).toMatchObject({
      status: 'completed',
      outputs_count: 1,
      execution_start_time: expect.any(Number),
      execution_end_time: expect.any(Number),
    });
    expect(ok.outputs).toEqual(sim.historyEntry(sim.seeds.succeeded[0]!)!.outputs);
    expect(ok.execution_status.status_str).toBe('success');
    expect(ok.preview_output).toMatchObject({ mediaType: 'images', type: 'output' });
    const failed = await get(sim.seeds.failed[0]!);
    expect(failed.status).toBe('failed');
    expect(failed.execution_error).toMatchObject({ exception_message: expect.any(String), node_id: expect.any(String) });
    expect((await get(sim.seeds.cancelled[0]!)).status).toBe('cancelled');
    const missing = await call(sim, 'GET', '/api/jobs/00000000-0000-4000-8000-000000000000');
    expect([missing.status, missing.json]).toEqual([404, { error: 'Job not found' }]);
    // No id check on the single read: any other id is simply not found.
    expect(await call(sim, 'GET', '/api/jobs/render-42')).toMatchObject({ status: 404, json: { error: 'Job not found' } });
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
    const bad = await call(sim, 'POST', '/api/jobs/cancel', { job_ids: ['NOT-A-UUID', 5, null, [1, 'a']] });
    expect(bad.status).toBe(400);
    expect(bad.json).toEqual({ error: 'job_ids contains invalid id(s)', invalid_ids: ['NOT-A-UUID', '5', 'None', "[1, 'a']"] });
    const none = await call(sim, 'POST', '/api/jobs/cancel', { job_ids: ['00000000-0000-4000-8000-000000000000'] });
    expect(none.json).toEqual({ cancelled: false });
    const some = await call(sim, 'POST', '/api/jobs/cancel', { job_ids: [sim.seeds.queued[1], '00000000-0000-4000-8000-000000000000'] });
    expect(some.json).toEqual({ cancelled: true });
    expect(sim.stateOf(sim.seeds.queued[1]!)).toBe('absent');
  });
});
