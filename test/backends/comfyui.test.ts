import { afterEach, describe, expect, it } from 'vitest';
import { createComfyuiBackend, REMOVED_BY_GATEWAY } from '../../src/backends/comfyui.ts';
import type { ComfyuiBackendConfig } from '../../src/config/schema.ts';
import type { JobBackend } from '../../src/jobs/backend.ts';
import { ManualClock } from '../../src/sandbox/clock.ts';
import { startComfyuiSim, type ComfyuiSim, type ComfyuiSimOptions } from '../../src/sandbox/comfyui.ts';
import type { SimRequest } from '../../src/sandbox/sim-server.ts';
import { freePort } from '../helpers/ports.ts';
import { ctx } from '../helpers/backend-calls.ts';

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  await Promise.allSettled(closers.splice(0).map((c) => c()));
});

const UNKNOWN = '00000000-0000-4000-8000-000000000000';

async function sim(clock: ManualClock, options: Partial<ComfyuiSimOptions> & { api: 'jobs' | 'legacy' }): Promise<ComfyuiSim> {
  const s = await startComfyuiSim({ clock, ...options });
  closers.push(() => s.close());
  return s;
}

function adapter(clock: ManualClock, hosts: Array<{ name: string; url: string }>, api: 'auto' | 'jobs' | 'legacy' = 'auto', timeoutMs = 3000): JobBackend {
  const config: ComfyuiBackendConfig = { kind: 'comfyui', hosts, api };
  const b = createComfyuiBackend(config, { name: 'studio', projectReference: 'studio', timeoutMs, now: () => clock.now() });
  closers.push(() => b.close!());
  return b;
}

/** A loopback URL nobody listens on. */
async function closedUrl(): Promise<string> {
  return `http://127.0.0.1:${await freePort()}`;
}

async function oneHost(api: 'jobs' | 'legacy', opts: Partial<ComfyuiSimOptions> = {}, adapterApi: 'auto' | 'jobs' | 'legacy' = 'auto') {
  const clock = new ManualClock();
  const s = await sim(clock, { api, ...opts });
  const b = adapter(clock, [{ name: 'gpu1', url: s.server.url }], adapterApi);
  return { clock, sim: s, backend: b };
}

const interrupts = (reqs: SimRequest[]) => reqs.filter((r) => /\/interrupt$/.test(r.path));

describe.each(['jobs', 'legacy'] as const)('ComfyUI adapter, %s API', (api) => {
  it('reports every seeded state with the host, raw status and times', async () => {
    const { sim: s, backend } = await oneHost(api);
    const get = (id: string) => backend.getStatus(id, ctx());

    const queued = await get(s.seeds.queued[0]!);
    expect(queued).toMatchObject({ found: true, status: 'queued', raw_status: 'pending', host: 'gpu1', queue_position: expect.any(Number) });
    const running = await get(s.seeds.running[0]!);
    expect(running).toMatchObject({ found: true, status: 'running', raw_status: api === 'jobs' ? 'in_progress' : 'running', host: 'gpu1' });

    const ok = await get(s.seeds.succeeded[0]!);
    expect(ok).toMatchObject({ found: true, status: 'succeeded', raw_status: api === 'jobs' ? 'completed' : 'success', host: 'gpu1' });
    expect(ok.started_at).toMatch(/^20\d\d-/);
    expect(ok.completed_at).toMatch(/^20\d\d-/);
    expect(Date.parse(ok.completed_at!)).toBeGreaterThan(Date.parse(ok.started_at!));
    if (api === 'jobs') expect(ok.created_at).toMatch(/^20\d\d-/); // legacy servers do not stamp create_time
    expect(ok.outputs).toEqual([{ node: '9', media: 'images', filename: expect.stringMatching(/\.png$/), subfolder: '', type: 'output' }]);
    expect(ok.error).toBeUndefined();

    const failed = await get(s.seeds.failed[0]!);
    expect(failed).toMatchObject({ found: true, status: 'failed', raw_status: api === 'jobs' ? 'failed' : 'error' });
    expect(failed.error).toEqual({ message: expect.stringContaining('CUDA out of memory'), type: 'torch.OutOfMemoryError', node: '3' });

    const cancelled = await get(s.seeds.cancelled[0]!);
    expect(cancelled).toMatchObject({ found: true, status: 'cancelled', raw_status: api === 'jobs' ? 'cancelled' : 'error' });

    expect(await get(UNKNOWN)).toEqual({ found: false, status: 'unknown', raw_status: null });
  });

  it('reports a long-running job as running', async () => {
    const { sim: s, backend, clock } = await oneHost(api, { seedRunning: 'long_running' });
    clock.advance(60 * 60_000);
    expect(await backend.getStatus(s.seeds.long_running[0]!, ctx())).toMatchObject({ found: true, status: 'running' });
  });

  it('gives queue positions in the order the worker will run them, though the heap array is not sorted', async () => {
    const { sim: s, backend } = await oneHost(api);
    const pending = s.queue().pending;
    const byRunOrder = [...pending].sort((a, b) => a[0] - b[0]).map((i) => i[1]);
    expect(pending.map((i) => i[1])).not.toEqual(byRunOrder);
    const positions = await Promise.all(byRunOrder.map(async (id) => (await backend.getStatus(id, ctx())).queue_position));
    expect(positions).toEqual(byRunOrder.map((_, i) => i));
  });

  it('follows a job from queued to running to succeeded as time passes', async () => {
    const { sim: s, backend, clock } = await oneHost(api, { seed: false });
    s.submit({ durationMs: 60_000 });
    const id = s.submit({ durationMs: 30_000, outcome: 'error', errorNode: '8', errorMessage: 'VAE exploded', errorType: 'RuntimeError' });
    expect((await backend.getStatus(id, ctx())).status).toBe('queued');
    clock.advance(61_000);
    expect((await backend.getStatus(id, ctx())).status).toBe('running');
    clock.advance(30_000);
    expect(await backend.getStatus(id, ctx())).toMatchObject({ status: 'failed', error: { message: 'VAE exploded', type: 'RuntimeError', node: '8' } });
  });

  it('cancels a pending job, verifies it left the queue, then remembers it as cancelled', async () => {
    const { sim: s, backend } = await oneHost(api);
    const id = s.seeds.queued[1]!;
    const first = await backend.cancel(id, ctx());
    expect(first).toMatchObject({ outcome: 'cancelled', status_before: 'queued', status_after: 'cancelled', host: 'gpu1' });
    expect(s.stateOf(id)).toBe('absent');
    // ComfyUI forgot it; the gateway's tombstone answers.
    expect(await backend.getStatus(id, ctx())).toMatchObject({ found: true, status: 'cancelled', raw_status: REMOVED_BY_GATEWAY, host: 'gpu1' });
    const second = await backend.cancel(id, ctx());
    expect(second).toMatchObject({ outcome: 'already_terminal', status_before: 'cancelled', status_after: 'cancelled' });
    // The running job was not touched.
    expect(s.stateOf(s.seeds.running[0]!)).toBe('running');
    if (api === 'legacy') expect(interrupts(s.server.requests)).toEqual([]);
  });

  it('interrupts a running job: cancel_requested first, cancelled once it stopped; a second cancel is already_terminal', async () => {
    const { sim: s, backend, clock } = await oneHost(api);
    const id = s.seeds.running[0]!;
    const first = await backend.cancel(id, ctx());
    expect(first).toMatchObject({ outcome: 'cancel_requested', status_before: 'running', status_after: 'running' });
    clock.advance(2000);
    expect(await backend.getStatus(id, ctx())).toMatchObject({ found: true, status: 'cancelled' });
    expect(await backend.cancel(id, ctx())).toMatchObject({ outcome: 'already_terminal', status_before: 'cancelled', status_after: 'cancelled' });
    // The next job in line started normally and is not affected.
    const next = s.queue().running[0]![1];
    clock.advance(5000);
    expect((await backend.getStatus(next, ctx())).status).toBe('running');
  });

  it('reports cancelled at once when the interrupt lands before the re-read', async () => {
    const { sim: s, backend } = await oneHost(api, { interruptLatencyMs: 0 });
    expect(await backend.cancel(s.seeds.running[0]!, ctx())).toMatchObject({ outcome: 'cancelled', status_before: 'running', status_after: 'cancelled' });
  });

  it('cancelling twice before the stop is honoured stays a request, never an error', async () => {
    const { sim: s, backend } = await oneHost(api);
    const id = s.seeds.running[0]!;
    expect((await backend.cancel(id, ctx())).outcome).toBe('cancel_requested');
    expect((await backend.cancel(id, ctx())).outcome).toBe('cancel_requested');
  });

  it('answers already_terminal for a finished job without sending a cancel', async () => {
    const { sim: s, backend } = await oneHost(api);
    for (const [state, id] of [['succeeded', s.seeds.succeeded[0]!], ['failed', s.seeds.failed[0]!], ['cancelled', s.seeds.cancelled[0]!]] as const) {
      expect(await backend.cancel(id, ctx())).toMatchObject({ outcome: 'already_terminal', status_before: state, status_after: state });
    }
    expect(s.server.requests.filter((r) => r.method === 'POST')).toEqual([]);
  });

  it('answers not_found for an unknown job', async () => {
    const { backend } = await oneHost(api);
    expect(await backend.cancel(UNKNOWN, ctx())).toMatchObject({ outcome: 'not_found', status_before: 'unknown', status_after: 'unknown' });
  });

  it('refuses hostile ids before any request', async () => {
    const { sim: s, backend } = await oneHost(api);
    const hostile = ['../x', '%2F', '..%2F..%2Finterrupt', 'a/b', '', ' ', 'x'.repeat(10_000), `${UNKNOWN}/cancel`, 'ABCDEF00-0000-4000-8000-00000000000A', `${UNKNOWN}\n`, '{}'];
    for (const id of hostile) {
      expect(backend.validateJobId(id)).toEqual(expect.any(String));
      await expect(backend.getStatus(id, ctx())).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(backend.cancel(id, ctx())).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    expect(backend.validateJobId(UNKNOWN)).toBeNull();
    expect(backend.validateJobId('x'.repeat(10_000))!.length).toBeLessThan(300);
    expect(s.server.requests).toEqual([]);
  });

  it('never sends an Origin header', async () => {
    const { sim: s, backend } = await oneHost(api);
    await backend.getStatus(s.seeds.queued[0]!, ctx());
    await backend.cancel(s.seeds.queued[0]!, ctx());
    await backend.cancel(s.seeds.running[0]!, ctx());
    expect(s.server.requests.length).toBeGreaterThan(3);
    for (const r of s.server.requests) expect(r.headers.origin).toBeUndefined();
  });

  it('turns a garbage answer into BACKEND_UNAVAILABLE, never a status', async () => {
    const { sim: s, backend } = await oneHost(api, {}, api);
    s.server.setFault({ kind: 'garbage' });
    await expect(backend.getStatus(s.seeds.running[0]!, ctx())).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
    await expect(backend.cancel(s.seeds.running[0]!, ctx())).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
  });

  it('turns JSON of the wrong shape into BACKEND_UNAVAILABLE', async () => {
    const { sim: s, backend } = await oneHost(api, {}, api);
    s.server.setFault({ kind: 'status', status: 200, body: '{"queue_running": "nope", "id": 5, "status": "weird"}' });
    await expect(backend.getStatus(s.seeds.running[0]!, ctx())).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
  });

  it('maps a 5xx to BACKEND_UNAVAILABLE and a 403 to BACKEND_AUTH', async () => {
    const { sim: s, backend } = await oneHost(api, {}, api);
    s.server.setFault({ kind: 'status', status: 403, body: '' });
    await expect(backend.getStatus(s.seeds.running[0]!, ctx())).rejects.toMatchObject({ code: 'BACKEND_AUTH' });
    s.server.setFault({ kind: 'status', status: 500, body: '500 Internal Server Error' });
    await expect(backend.getStatus(s.seeds.running[0]!, ctx())).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
  });
});

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
    for (const id of [jobsSim.seeds.queued[0]!, legacySim.seeds.running[0]!, UNKNOWN, jobsSim.seeds.failed[0]!, legacySim.seeds.succeeded[0]!]) {
      asked.add(id);
      expect((await b.getStatus(id, ctx())).found).toBe(id !== UNKNOWN);
    }
    const probes = (s: ComfyuiSim) => s.server.requests.filter((r) => r.method === 'GET' && /^\/api\/jobs\/[^/]+$/.test(r.path) && !asked.has(r.path.split('/').pop()!));
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

  it('skips the probe when the config names the API', async () => {
    const { sim: s, backend } = await oneHost('legacy', {}, 'legacy');
    await backend.getStatus(s.seeds.queued[0]!, ctx());
    expect(s.server.requests.map((r) => r.path)).toEqual(['/queue']);
  });
});

describe('ComfyUI adapter: legacy interrupts', () => {
  it('every interrupt names the prompt id, and only a job seen running is interrupted', async () => {
    const { sim: s, backend, clock } = await oneHost('legacy');
    await backend.cancel(s.seeds.queued[0]!, ctx());
    await backend.cancel(s.seeds.running[0]!, ctx());
    await backend.cancel(s.seeds.succeeded[0]!, ctx());
    await backend.cancel(UNKNOWN, ctx());
    clock.advance(2000);
    // The cancelled running job stopped; a second cancel sends nothing more.
    await backend.cancel(s.seeds.running[0]!, ctx());
    const sent = interrupts(s.server.requests);
    expect(sent).toHaveLength(1);
    for (const r of sent) expect(JSON.parse(r.body)).toEqual({ prompt_id: s.seeds.running[0] });
  });

  it('cancelling a pending job never kills the running one (no global interrupt)', async () => {
    const { sim: s, backend, clock } = await oneHost('legacy');
    const running = s.seeds.running[0]!;
    for (const id of s.seeds.queued) expect((await backend.cancel(id, ctx())).outcome).toBe('cancelled');
    clock.advance(60_000);
    expect(s.stateOf(running)).toBe('running');
    expect(interrupts(s.server.requests)).toEqual([]);
  });
});

describe('ComfyUI adapter: several hosts', () => {
  async function twoHosts(api: 'jobs' | 'legacy' = 'jobs') {
    const clock = new ManualClock();
    const a = await sim(clock, { api, namespace: 'gpu1' });
    const b = await sim(clock, { api, namespace: 'gpu2' });
    return { clock, a, b };
  }

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

  it('is BACKEND_UNAVAILABLE when every host is down', async () => {
    const clock = new ManualClock();
    const backend = adapter(clock, [
      { name: 'a', url: await closedUrl() },
      { name: 'b', url: await closedUrl() },
    ]);
    await expect(backend.getStatus(UNKNOWN, ctx())).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
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

  it('keeps tombstones per adapter instance', async () => {
    const { clock, a } = await twoHosts('legacy');
    const one = adapter(clock, [{ name: 'gpu1', url: a.server.url }]);
    const two = adapter(clock, [{ name: 'gpu1', url: a.server.url }]);
    const id = a.seeds.queued[0]!;
    expect((await one.cancel(id, ctx())).outcome).toBe('cancelled');
    expect((await one.getStatus(id, ctx())).status).toBe('cancelled');
    expect(await two.getStatus(id, ctx())).toMatchObject({ found: false, status: 'unknown' });
  });

  it('honours the caller abort signal', async () => {
    const { clock, a } = await twoHosts('jobs');
    a.server.setFault({ kind: 'hang' });
    const backend = adapter(clock, [{ name: 'gpu1', url: a.server.url }], 'jobs', 10_000);
    const ac = new AbortController();
    const p = backend.getStatus(UNKNOWN, { signal: ac.signal });
    setTimeout(() => ac.abort(new Error('client went away')), 50);
    await expect(p).rejects.toThrow('client went away');
  });
});
