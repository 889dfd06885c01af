// Which ComfyUI host has a job: all hosts asked in parallel, the one that had it remembered, and a
// host that cannot answer never taken as "not there".
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/simulation/clock.ts';
import { ctx } from '../../helpers/backend-calls.ts';
import { adapter, closedUrl, closeComfyuiAfterEach, sim, UNKNOWN } from '../../helpers/comfyui.ts';

closeComfyuiAfterEach();

async function twoHosts(api: 'jobs' | 'legacy' = 'jobs') {
  const clock = new ManualClock();
  const a = await sim(clock, { api, namespace: 'gpu1' });
  const b = await sim(clock, { api, namespace: 'gpu2' });
  return { clock, a, b };
}

describe('ComfyUI adapter: several hosts', () => {
  it('finds a job on the second host, then asks only that host', async () => {
    const { clock, a, b } = await twoHosts();
    const backend = adapter(clock, [
      { name: 'gpu1', url: a.server.url },
      { name: 'gpu2', url: b.server.url },
    ]);
    const id = b.seeds.failed[0]!;
    expect(await backend.getStatus(id, ctx())).toMatchObject({ found: true, status: 'failed', host: 'gpu2' });
    expect(await backend.getStatus(id, ctx())).toMatchObject({ host: 'gpu2' });
    expect(await backend.cancel(id, ctx())).toMatchObject({ outcome: 'already_terminal', host: 'gpu2' });
    expect(await backend.cancel(b.seeds.queued[0]!, ctx())).toMatchObject({ outcome: 'cancelled', host: 'gpu2' });
    // gpu1 was asked about the failed job at most once: by the first search, never again.
    expect(a.server.requests.filter((r) => r.path.endsWith(id)).length).toBeLessThanOrEqual(1);
    expect(b.server.requests.filter((r) => r.path.endsWith(id)).length).toBe(3);
  });

  it('answers from the host that knows the job when another host is down', async () => {
    const { clock, b } = await twoHosts();
    const backend = adapter(clock, [
      { name: 'down', url: await closedUrl() },
      { name: 'gpu2', url: b.server.url },
    ]);
    expect(await backend.getStatus(b.seeds.running[0]!, ctx())).toMatchObject({ found: true, status: 'running', host: 'gpu2' });
    expect(await backend.cancel(b.seeds.queued[0]!, ctx())).toMatchObject({ outcome: 'cancelled', host: 'gpu2' });
  });

  it('is BACKEND_UNAVAILABLE, not unknown, when no reachable host knows the job and one is down', async () => {
    const { clock, b } = await twoHosts();
    const backend = adapter(clock, [
      { name: 'down', url: await closedUrl() },
      { name: 'gpu2', url: b.server.url },
    ]);
    const err = await backend.getStatus(UNKNOWN, ctx()).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
    expect((err as Error).message).toContain('"down"');
    await expect(backend.cancel(UNKNOWN, ctx())).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
  });

  it('is BACKEND_UNAVAILABLE when a host hangs past the timeout; a host that knows the job does not wait for it', async () => {
    const { clock, a, b } = await twoHosts('legacy');
    a.server.setFault({ kind: 'hang' });
    const backend = adapter(
      clock,
      [
        { name: 'gpu1', url: a.server.url },
        { name: 'gpu2', url: b.server.url },
      ],
      'auto',
      300,
    );
    expect(await backend.getStatus(b.seeds.queued[0]!, ctx())).toMatchObject({ found: true, host: 'gpu2' });
    await expect(backend.getStatus(UNKNOWN, ctx())).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
  });

  it('honours the caller abort signal', async () => {
    const { clock, a } = await twoHosts('jobs');
    a.server.setFault({ kind: 'hang' });
    const backend = adapter(clock, [{ name: 'gpu1', url: a.server.url }], 'jobs', 10_000);
    const ac = new AbortController();
    const p = backend.getStatus(UNKNOWN, { signal: ac.signal });
    await expect.poll(() => a.server.openRequests()).toBe(1); // the read hangs at the host
    ac.abort(new Error('client went away'));
    await expect(p).rejects.toThrow('client went away');
  });
});
