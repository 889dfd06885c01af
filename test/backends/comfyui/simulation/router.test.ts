// The simulated ComfyUI server's routing: "/api" aliases, aiohttp's 404 and 405, path parameters,
// the CSRF guard.
import { describe, expect, it } from 'vitest';
import { call, closeSimsAfterEach, start } from '../../../helpers/comfyui-sim.ts';

closeSimsAfterEach();

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

  it('takes a path parameter as one decoded segment, an encoded "/" included, but never one with "{" or "}"', async () => {
    const { sim } = await start({ api: 'legacy', seed: false });
    sim.submit({ promptId: 'a/b', durationMs: 0 });
    expect(Object.keys((await call(sim, 'GET', '/history/a%2Fb')).json)).toEqual(['a/b']);
    expect((await call(sim, 'GET', '/history/a/b')).status).toBe(404);
    const braces = await call(sim, 'GET', '/history/%7Bx%7D');
    expect([braces.status, braces.text]).toEqual([404, '404: Not Found']);
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
