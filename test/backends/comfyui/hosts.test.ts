// Which API each ComfyUI host speaks: probed once with `api: auto`, or fixed by config.
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/simulation/clock.ts';
import type { ComfyuiSim } from '../../../src/backends/comfyui/simulation/server.ts';
import { RECHECK_LEGACY_MS } from '../../../src/backends/comfyui/hosts.ts';
import { ctx } from '../../helpers/backend-calls.ts';
import { adapter, closeComfyuiAfterEach, oneHost, sim, UNKNOWN } from '../../helpers/comfyui.ts';

closeComfyuiAfterEach();

describe('ComfyUI adapter: API detection', () => {
  it('probes each host once and remembers the answer', async () => {
    const clock = new ManualClock();
    const jobsSim = await sim(clock, { api: 'jobs', namespace: 'a' });
    const legacySim = await sim(clock, { api: 'legacy', namespace: 'b' });
    const b = adapter(clock, [
      { name: 'new', url: jobsSim.server.url },
      { name: 'old', url: legacySim.server.url },
    ]);
    const asked = new Set<string>();
    for (const id of [
      jobsSim.seeds.queued[0]!,
      legacySim.seeds.running[0]!,
      UNKNOWN,
      jobsSim.seeds.failed[0]!,
      legacySim.seeds.succeeded[0]!,
    ]) {
      asked.add(id);
      expect((await b.getStatus(id, ctx())).found).toBe(id !== UNKNOWN);
    }
    const probes = (s: ComfyuiSim) =>
      s.server.requests.filter((r) => r.method === 'GET' && /^\/api\/jobs\/[^/]+$/.test(r.path) && !asked.has(r.path.split('/').pop()!));
    expect(probes(jobsSim)).toHaveLength(1);
    expect(probes(legacySim)).toHaveLength(1);
    // The legacy host was then read through /queue and /history, the new one through /api/jobs.
    expect(legacySim.server.requests.some((r) => r.path === '/queue')).toBe(true);
    expect(jobsSim.server.requests.some((r) => r.path === '/queue')).toBe(false);
  });

  it('does not remember a probe that failed because the host was down', async () => {
    const clock = new ManualClock();
    const first = await sim(clock, { api: 'legacy' });
    const port = first.server.port;
    const b = adapter(clock, [{ name: 'gpu1', url: first.server.url }]);
    await first.close();
    await expect(b.getStatus(UNKNOWN, ctx())).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
    const again = await sim(clock, { api: 'jobs', port });
    expect(await b.getStatus(again.seeds.running[0]!, ctx())).toMatchObject({ status: 'running', raw_status: 'in_progress' });
    expect(again.server.requests.some((r) => r.path === '/queue')).toBe(false);
  });

  it('falls back to the legacy routes when a jobs host is replaced by an older server', async () => {
    const clock = new ManualClock();
    const first = await sim(clock, { api: 'jobs' });
    const port = first.server.port;
    const b = adapter(clock, [{ name: 'gpu1', url: first.server.url }]);
    expect((await b.getStatus(first.seeds.running[0]!, ctx())).raw_status).toBe('in_progress');
    await first.close();
    const older = await sim(clock, { api: 'legacy', port });
    expect(await b.getStatus(older.seeds.running[0]!, ctx())).toMatchObject({ status: 'running', raw_status: 'running' });
    // Learned: the next read goes straight to /queue.
    await b.getStatus(older.seeds.queued[0]!, ctx());
    expect(older.server.requests.slice(-1)[0]!.path).toBe('/queue');
  });

  it('notices within a minute that a legacy host now has the jobs API, without a restart', async () => {
    const clock = new ManualClock();
    const first = await sim(clock, { api: 'legacy' });
    const port = first.server.port;
    const b = adapter(clock, [{ name: 'gpu1', url: first.server.url }]);
    expect((await b.getStatus(first.seeds.running[0]!, ctx())).raw_status).toBe('running');
    await first.close();
    const upgraded = await sim(clock, { api: 'jobs', port });
    // Within the minute the host is still read the legacy way (a current server has those routes too).
    clock.advance(RECHECK_LEGACY_MS - 1);
    expect((await b.getStatus(upgraded.seeds.running[0]!, ctx())).raw_status).toBe('running');
    expect(upgraded.server.requests.map((r) => r.path)).toEqual(['/queue']);
    clock.advance(1);
    expect(await b.getStatus(upgraded.seeds.running[0]!, ctx())).toMatchObject({ status: 'running', raw_status: 'in_progress' });
    // Learned: reads go to the jobs API from now on, with no further probe.
    clock.advance(10 * RECHECK_LEGACY_MS);
    await b.getStatus(upgraded.seeds.queued[0]!, ctx());
    const paths = upgraded.server.requests.map((r) => r.path);
    expect(paths.filter((p) => p === '/queue')).toHaveLength(1);
    expect(paths.slice(-2)).toEqual([`/api/jobs/${upgraded.seeds.queued[0]!}`, '/api/jobs']);
  });

  it('keeps a legacy host legacy when the new probe cannot tell, and answers from the legacy routes', async () => {
    const { sim: s, backend, clock } = await oneHost('legacy');
    await backend.getStatus(s.seeds.running[0]!, ctx());
    clock.advance(RECHECK_LEGACY_MS);
    s.server.setFault({ kind: 'status', status: 500, body: 'busy' }, (r) => r.path.startsWith('/api/jobs/'));
    expect(await backend.getStatus(s.seeds.running[0]!, ctx())).toMatchObject({ status: 'running', raw_status: 'running' });
    expect(s.server.requests.map((r) => r.path).slice(-2)).toEqual([expect.stringMatching(/^\/api\/jobs\//), '/queue']);
  });

  it('skips the probe when the config names the API', async () => {
    const { sim: s, backend } = await oneHost('legacy', {}, 'legacy');
    await backend.getStatus(s.seeds.queued[0]!, ctx());
    expect(s.server.requests.map((r) => r.path)).toEqual(['/queue']);
  });
});
