// The ComfyUI adapter as a whole, on each kind of host: statuses of jobs in every state, as time
// passes, and what an unusable answer becomes.
import { describe, expect, it } from 'vitest';
import { ctx } from '../../helpers/backend-calls.ts';
import { defaultGraph } from '../../../src/backends/comfyui/simulation/server.ts';
import { ManualClock } from '../../../src/simulation/clock.ts';
import { adapter, closeComfyuiAfterEach, oneHost, sim, UNKNOWN } from '../../helpers/comfyui.ts';

closeComfyuiAfterEach();

describe.each(['jobs', 'legacy'] as const)('ComfyUI adapter, %s API', (api) => {
  it('reports every seeded state with the host, raw status and times', async () => {
    const { sim: s, backend } = await oneHost(api);
    const get = (id: string) => backend.getStatus(id, ctx());

    const queued = await get(s.seeds.queued[0]!);
    expect(queued).toMatchObject({
      found: true,
      status: 'queued',
      raw_status: 'pending',
      host: 'gpu1',
      queue_position: expect.any(Number),
    });
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
    expect(failed.error).toEqual({
      message: expect.stringContaining('CUDA out of memory'),
      type: 'torch.OutOfMemoryError',
      node: '3',
      node_type: 'KSampler',
    });

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
    const id = s.submit({ durationMs: 30_000, ending: 'error', errorNode: '8', errorMessage: 'VAE exploded', errorType: 'RuntimeError' });
    expect((await backend.getStatus(id, ctx())).status).toBe('queued');
    clock.advance(61_000);
    expect((await backend.getStatus(id, ctx())).status).toBe('running');
    clock.advance(30_000);
    expect(await backend.getStatus(id, ctx())).toMatchObject({
      status: 'failed',
      error: { message: 'VAE exploded', type: 'RuntimeError', node: '8', node_type: 'VAEDecode' },
    });
  });

  it('gives each output file a URL that fetches it, only on a host with a public URL', async () => {
    const clock = new ManualClock();
    const s = await sim(clock, { api });
    // The operator says callers reach the host where the gateway does: the same URL, with a trailing slash.
    const open = adapter(clock, [{ name: 'gpu1', url: s.server.url, public_url: `${s.server.url}/` }]);
    const internal = adapter(clock, [{ name: 'gpu1', url: s.server.url }]);
    const id = s.seeds.succeeded[0]!;
    const [file] = (await open.getStatus(id, ctx())).outputs!;
    const [{ filename }] = s.historyEntry(id)!.outputs['9']!.images as [{ filename: string }];
    expect(file!.url).toBe(`${s.server.url}/view?filename=${filename}&subfolder=&type=output`);
    const res = await fetch(file!.url!);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(await res.text()).toContain(filename);
    // A file the host never wrote is not there: the URL names the file, not any file.
    expect((await fetch(file!.url!.replace(filename, 'ComfyUI_99999_.png'))).status).toBe(404);

    const withoutUrl = (await internal.getStatus(id, ctx())).outputs!;
    expect(withoutUrl).toEqual([{ node: '9', media: 'images', filename, subfolder: '', type: 'output' }]);
  });

  it('reads the saved workflow id from the queue and from history, as the jobs API does', async () => {
    const { sim: s, backend, clock } = await oneHost(api, { seed: false });
    s.submit({ durationMs: 60_000, workflowId: 'wf-first' });
    const id = s.submit({ durationMs: 30_000, workflowId: 'wf-7c1e' });
    const plain = s.submit({ durationMs: 30_000 });
    expect(await backend.getStatus(id, ctx())).toMatchObject({ status: 'queued', details: { workflow_id: 'wf-7c1e' } });
    clock.advance(61_000);
    expect(await backend.getStatus(id, ctx())).toMatchObject({ status: 'running', details: { workflow_id: 'wf-7c1e' } });
    clock.advance(30_000);
    expect(await backend.getStatus(id, ctx())).toMatchObject({ status: 'succeeded', details: { workflow_id: 'wf-7c1e' } });
    clock.advance(30_000);
    const other = await backend.getStatus(plain, ctx());
    expect(other.status).toBe('succeeded');
    expect(other.details?.workflow_id).toBeUndefined();
  });

  it('counts the nodes a repeated workflow takes from the cache, and gives the files the first run wrote', async () => {
    const { sim: s, backend, clock } = await oneHost(api, { seed: false });
    const first = s.submit({ durationMs: 10_000, prompt: defaultGraph(7) });
    const again = s.submit({ durationMs: 10_000, prompt: defaultGraph(7) });
    const reseeded = s.submit({ durationMs: 10_000, prompt: defaultGraph(8) });
    clock.advance(30_000);
    const [a, b, c] = await Promise.all([first, again, reseeded].map((id) => backend.getStatus(id, ctx())));
    expect(a!.details?.cached_nodes).toBe(0);
    // Every node of the same graph is cached, and the save node's files are the first run's.
    expect(b!.details?.cached_nodes).toBe(Object.keys(defaultGraph()).length);
    expect(b!.outputs).toEqual(a!.outputs);
    // A new seed runs the sampler and what follows it again; the loader, the prompts and the latent are cached.
    expect(c!.details?.cached_nodes).toBe(4);
    expect(c!.outputs![0]!.filename).not.toBe(a!.outputs![0]!.filename);
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

  it('passes on none of what a host says about itself, only what it says about the job', async () => {
    const { sim: s, backend } = await oneHost(api, {}, api);
    const said = 'Traceback (most recent call last): internal-db.corp:5432 password=hunter2';
    for (const fault of [
      { kind: 'status', status: 500, body: said },
      { kind: 'status', status: 404, body: said },
      { kind: 'status', status: 200, body: said },
      { kind: 'status', status: 200, body: JSON.stringify({ id: said, status: 'completed', queue_running: said }) },
    ] as const) {
      s.server.setFault(fault);
      const e = await backend.getStatus(s.seeds.running[0]!, ctx()).then(
        () => null,
        (err: unknown) => err as Error,
      );
      expect(e?.message).toEqual(expect.any(String));
      expect(e!.message).not.toMatch(/Traceback|internal-db|hunter2/);
    }
  });
});
