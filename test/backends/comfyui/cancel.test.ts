// The ComfyUI cancel flow: read, act, read again; what each outcome means, that only the named job
// is ever touched, and the tombstones of jobs the gateway removed from a queue.
import { describe, expect, it } from 'vitest';
import { REMOVED_BY_GATEWAY } from '../../../src/backends/comfyui/adapter.ts';
import { ManualClock } from '../../../src/simulation/clock.ts';
import { ctx } from '../../helpers/backend-calls.ts';
import { adapter, closeComfyuiAfterEach, interrupts, oneHost, sim, UNKNOWN } from '../../helpers/comfyui.ts';

closeComfyuiAfterEach();

describe.each(['jobs', 'legacy'] as const)('ComfyUI cancel, %s API', (api) => {
  it('cancels a pending job, verifies it left the queue, then remembers it as cancelled', async () => {
    const { sim: s, backend } = await oneHost(api);
    const id = s.seeds.queued[1]!;
    const first = await backend.cancel(id, ctx());
    expect(first).toMatchObject({ outcome: 'cancelled', status_before: 'queued', status_after: 'cancelled', host: 'gpu1' });
    expect(s.stateOf(id)).toBe('absent');
    // ComfyUI forgot it; the gateway's tombstone answers.
    expect(await backend.getStatus(id, ctx())).toMatchObject({
      found: true,
      status: 'cancelled',
      raw_status: REMOVED_BY_GATEWAY,
      host: 'gpu1',
    });
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
    expect(await backend.cancel(id, ctx())).toMatchObject({
      outcome: 'already_terminal',
      status_before: 'cancelled',
      status_after: 'cancelled',
    });
    // The next job in line started normally and is not affected.
    const next = s.queue().running[0]![1];
    clock.advance(5000);
    expect((await backend.getStatus(next, ctx())).status).toBe('running');
  });

  it('reports cancelled at once when the interrupt lands before the re-read', async () => {
    const { sim: s, backend } = await oneHost(api, { interruptLatencyMs: 0 });
    expect(await backend.cancel(s.seeds.running[0]!, ctx())).toMatchObject({
      outcome: 'cancelled',
      status_before: 'running',
      status_after: 'cancelled',
    });
  });

  it('cancelling twice before the stop is honoured stays a request, never an error', async () => {
    const { sim: s, backend } = await oneHost(api);
    const id = s.seeds.running[0]!;
    expect((await backend.cancel(id, ctx())).outcome).toBe('cancel_requested');
    expect((await backend.cancel(id, ctx())).outcome).toBe('cancel_requested');
  });
});

describe('ComfyUI cancel: legacy interrupts', () => {
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

describe('ComfyUI cancel: tombstones', () => {
  it('keeps tombstones per adapter instance', async () => {
    const clock = new ManualClock();
    const a = await sim(clock, { api: 'legacy', namespace: 'gpu1' });
    const one = adapter(clock, [{ name: 'gpu1', url: a.server.url }]);
    const two = adapter(clock, [{ name: 'gpu1', url: a.server.url }]);
    const id = a.seeds.queued[0]!;
    expect((await one.cancel(id, ctx())).outcome).toBe('cancelled');
    expect((await one.getStatus(id, ctx())).status).toBe('cancelled');
    expect(await two.getStatus(id, ctx())).toMatchObject({ found: false, status: 'unknown' });
  });

  it("dates a tombstone by the adapter's clock and lets it expire after 7 days, driven by that clock", async () => {
    const { sim: s, backend, clock } = await oneHost('legacy');
    const id = s.seeds.queued[0]!;
    const removedAt = clock.now();
    expect((await backend.cancel(id, ctx())).outcome).toBe('cancelled');
    expect(await backend.getStatus(id, ctx())).toMatchObject({ status: 'cancelled', completed_at: new Date(removedAt).toISOString() });
    clock.advance(7 * 24 * 3600_000); // the tombstone's age limit, to the millisecond: it still holds
    expect(await backend.getStatus(id, ctx())).toMatchObject({ found: true, status: 'cancelled', raw_status: REMOVED_BY_GATEWAY });
    clock.advance(1);
    expect(await backend.getStatus(id, ctx())).toMatchObject({ found: false, status: 'unknown' });
    expect((await backend.cancel(id, ctx())).outcome).toBe('not_found');
  });
});

describe('ComfyUI cancel: one prompt id, several jobs (an older server takes an id twice)', () => {
  it('removes every pending job under the id in one request, and says how many', async () => {
    const { sim: s, backend } = await oneHost('legacy', { seed: false });
    s.submit({ durationMs: 60_000 });
    s.submit({ promptId: 'render-7' });
    const other = s.submit();
    s.submit({ promptId: 'render-7' });
    const r = await backend.cancel('render-7', ctx());
    expect(r).toMatchObject({ outcome: 'cancelled', status_before: 'queued', status_after: 'cancelled', host: 'gpu1' });
    expect(r.message).toContain('held 2 queued jobs under prompt id render-7');
    expect(r.message).toContain('all 2 were removed');
    expect(s.queue().pending.map((i) => i[1])).toEqual([other]);
    const deletes = s.server.requests.filter((q) => q.method === 'POST' && q.path === '/queue');
    expect(deletes.map((q) => JSON.parse(q.body))).toEqual([{ delete: ['render-7', 'render-7'] }]);
    expect(await backend.getStatus('render-7', ctx())).toMatchObject({ status: 'cancelled', raw_status: REMOVED_BY_GATEWAY });
  });

  it('interrupts the running job under the id after removing the pending one, and says both', async () => {
    const { sim: s, backend } = await oneHost('legacy', { seed: false });
    s.submit({ promptId: 'render-7', durationMs: 60_000 });
    s.submit({ promptId: 'render-7' });
    const r = await backend.cancel('render-7', ctx());
    expect(r).toMatchObject({ outcome: 'cancel_requested', status_before: 'running', status_after: 'running' });
    expect(r.message).toContain('1 queued job under the same prompt id');
    expect(s.queue().pending).toEqual([]);
    expect(interrupts(s.server.requests).map((q) => JSON.parse(q.body))).toEqual([{ prompt_id: 'render-7' }]);
  });

  it('says nothing of other jobs when the id names one', async () => {
    const { sim: s, backend } = await oneHost('legacy', { seed: false });
    s.submit({ durationMs: 60_000 });
    s.submit({ promptId: 'render-8' });
    const r = await backend.cancel('render-8', ctx());
    expect(r.message).toBe(
      'Job render-8 was removed from the queue of ComfyUI host "gpu1" before it started. ComfyUI keeps no record of removed jobs; the gateway remembers it as cancelled.',
    );
  });
});
