// Which ComfyUI job ids the adapter takes. Servers from before the prompt-id check run a job under
// any string a client sent, so any such string must reach that job, as one percent-encoded path
// segment; an uppercase UUID is just another string there. Only what no server could hold, or no URL
// path could name, is refused, before any request.
import { describe, expect, it } from 'vitest';
import { REMOVED_BY_GATEWAY } from '../../../src/backends/comfyui/adapter.ts';
import { HISTORY_SCAN_PAGE } from '../../../src/backends/comfyui/legacy-api.ts';
import { ManualClock } from '../../../src/simulation/clock.ts';
import { ctx } from '../../helpers/backend-calls.ts';
import { adapter, closeComfyuiAfterEach, interrupts, oneHost, sim, UNKNOWN } from '../../helpers/comfyui.ts';

closeComfyuiAfterEach();

const UPPER = 'ABCDEF00-0000-4000-8000-00000000000A';

/** Ids an older server accepts as given; each must reach its job and nothing else. */
const STRING_IDS = [
  'render-42',
  UPPER,
  '../../interrupt',
  '..%2F..%2Finterrupt',
  'a/b?c=d#e',
  '%2F',
  ' ',
  '渲染 42 😀',
  'constructor',
  '__proto__',
  `${UNKNOWN}/cancel`,
  'x'.repeat(128),
];

describe.each(['jobs', 'legacy'] as const)('ComfyUI job ids, %s API', (api) => {
  it('refuses ids no ComfyUI server could hold or no URL path could name, before any request', async () => {
    const { sim: s, backend } = await oneHost(api);
    const refused = [
      '',
      'x'.repeat(129),
      'x'.repeat(10_000),
      `${UNKNOWN}\n`,
      'a\u0000b',
      'tab\there',
      'del\u007f',
      'c1\u0085',
      'line\u2028sep',
      'broken\ud800',
      '\udc00',
      '.',
      '..',
    ];
    for (const id of refused) {
      const problem = backend.validateJobId(id);
      expect(problem, JSON.stringify(id)).toEqual(expect.any(String));
      expect(problem!.length).toBeLessThan(200);
      expect(problem).not.toMatch(/lower/i);
      await expect(backend.getStatus(id, ctx())).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(backend.cancel(id, ctx())).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    expect(s.server.requests).toEqual([]);
  });

  it('takes a canonical UUID and any other string an older server could have accepted', async () => {
    const { backend } = await oneHost(api);
    for (const id of [UNKNOWN, ...STRING_IDS]) expect(backend.validateJobId(id), JSON.stringify(id)).toBeNull();
  });
});

describe('ComfyUI job ids on a legacy host', () => {
  it('reaches a job under any string id it accepted, each id one percent-encoded path segment', async () => {
    const { sim: s, backend, clock } = await oneHost('legacy', { seed: false });
    // Names of JavaScript object properties are ids like any other: not there yet, so unknown.
    for (const id of ['constructor', '__proto__', 'toString'])
      expect(await backend.getStatus(id, ctx())).toMatchObject({ found: false, status: 'unknown' });
    for (const id of STRING_IDS) s.submit({ promptId: id, durationMs: 1000 });
    clock.advance(STRING_IDS.length * 1000);
    for (const id of STRING_IDS) {
      expect(await backend.getStatus(id, ctx()), JSON.stringify(id)).toMatchObject({
        found: true,
        status: 'succeeded',
        raw_status: 'success',
        host: 'gpu1',
      });
      expect((await backend.cancel(id, ctx())).outcome).toBe('already_terminal');
    }
    const reads = s.server.requests.filter((r) => r.path.startsWith('/history/'));
    const expected = ['constructor', '__proto__', 'toString', ...STRING_IDS, ...STRING_IDS].map(
      (id) => `/history/${encodeURIComponent(id)}`,
    );
    expect(reads.map((r) => r.path).sort()).toEqual(expected.sort());
    // Nothing but the probe, /queue and those reads was asked; in particular nothing was posted.
    expect(
      s.server.requests.filter(
        (r) => r.path !== '/queue' && !r.path.startsWith('/history/') && !/^\/api\/jobs\/[0-9a-f-]{36}$/.test(r.path),
      ),
    ).toEqual([]);
    expect(s.server.requests.filter((r) => r.method !== 'GET')).toEqual([]);
  });

  it('an uppercase UUID is just another id: never lowercased, and its lowercase twin is another job', async () => {
    const { sim: s, backend } = await oneHost('legacy', { seed: false });
    s.submit({ durationMs: 60_000 }); // runs
    s.submit({ promptId: UPPER }); // waits
    expect(await backend.getStatus(UPPER, ctx())).toMatchObject({ found: true, status: 'queued', queue_position: 0 });
    const twin = await backend.cancel(UPPER.toLowerCase(), ctx());
    expect(twin).toMatchObject({ outcome: 'not_found' });
    expect(twin.message).not.toMatch(/lower|upper|case/i);
    expect(s.stateOf(UPPER)).toBe('pending');
    expect(await backend.cancel(UPPER, ctx())).toMatchObject({ outcome: 'cancelled', status_before: 'queued' });
    expect(s.stateOf(UPPER)).toBe('absent');
    const deletes = s.server.requests.filter((r) => r.method === 'POST' && r.path === '/queue');
    expect(deletes.map((r) => JSON.parse(r.body))).toEqual([{ delete: [UPPER] }]);
  });

  it('cancels a running and a pending job with string ids, naming exactly that id', async () => {
    const { sim: s, backend, clock } = await oneHost('legacy', { seed: false });
    s.submit({ promptId: 'render-1', durationMs: 60_000 });
    s.submit({ promptId: 'render-2' });
    expect(await backend.cancel('render-2', ctx())).toMatchObject({ outcome: 'cancelled', status_after: 'cancelled' });
    expect(await backend.getStatus('render-2', ctx())).toMatchObject({ found: true, status: 'cancelled' });
    expect(await backend.cancel('render-1', ctx())).toMatchObject({ outcome: 'cancel_requested', status_before: 'running' });
    expect(interrupts(s.server.requests).map((r) => JSON.parse(r.body))).toEqual([{ prompt_id: 'render-1' }]);
    clock.advance(2000);
    expect(await backend.getStatus('render-1', ctx())).toMatchObject({ found: true, status: 'cancelled' });
  });

  it('finds a job whose id the host cannot route (aiohttp refuses "{" and "}" in a path) through /queue and /history', async () => {
    const { sim: s, backend, clock } = await oneHost('legacy', { seed: false, historyLimit: 1200 });
    s.submit({ durationMs: 60_000 }); // runs
    s.submit({ promptId: '{x9d01}', durationMs: 10_000 });
    expect(await backend.getStatus('{x9d01}', ctx())).toMatchObject({ found: true, status: 'queued', queue_position: 0 });
    clock.advance(70_000);
    // Behind more than two scan pages of newer history entries.
    for (let i = 0; i < 2 * HISTORY_SCAN_PAGE + 10; i++) {
      s.submit({ durationMs: 1 });
      clock.advance(1);
    }
    expect(await backend.getStatus('{x9d01}', ctx())).toMatchObject({ found: true, status: 'succeeded', host: 'gpu1' });
    const history = s.server.requests.filter((r) => r.path.startsWith('/history'));
    expect(history.map((r) => `${r.path}?${r.query.toString()}`)).toEqual([`/history?max_items=${HISTORY_SCAN_PAGE}&offset=0`]);

    expect(await backend.getStatus('{render}', ctx())).toEqual({ found: false, status: 'unknown', raw_status: null });
    expect(await backend.cancel('{render}', ctx())).toMatchObject({ outcome: 'not_found' });
    // The whole history was read to say so: three pages, the last one short.
    expect(s.server.requests.filter((r) => r.path === '/history').length).toBe(1 + 3 + 3);
  });

  it('reads the whole history once on a server whose /history takes no offset', async () => {
    const { sim: s, backend, clock } = await oneHost('legacy', { seed: false, historyOffset: false });
    s.submit({ promptId: '{x9d01}', durationMs: 1 });
    clock.advance(1);
    for (let i = 0; i < HISTORY_SCAN_PAGE + 10; i++) {
      s.submit({ durationMs: 1 });
      clock.advance(1);
    }
    expect(await backend.getStatus('{x9d01}', ctx())).toMatchObject({ found: true, status: 'succeeded' });
    const history = s.server.requests.filter((r) => r.path === '/history').map((r) => r.query.toString());
    expect(history).toEqual([`max_items=${HISTORY_SCAN_PAGE}&offset=0`, `max_items=${HISTORY_SCAN_PAGE}&offset=${HISTORY_SCAN_PAGE}`, '']);
  });

  it('cancels a queued job whose id the host cannot route', async () => {
    const { sim: s, backend } = await oneHost('legacy', { seed: false });
    s.submit({ durationMs: 60_000 });
    s.submit({ promptId: '{x9d01}' });
    expect(await backend.cancel('{x9d01}', ctx())).toMatchObject({ outcome: 'cancelled', status_after: 'cancelled' });
    expect(s.stateOf('{x9d01}')).toBe('absent');
    expect(await backend.getStatus('{x9d01}', ctx())).toMatchObject({ found: true, status: 'cancelled', raw_status: REMOVED_BY_GATEWAY });
  });
});

describe('ComfyUI job ids with a newer host beside an older one', () => {
  async function mixed() {
    const clock = new ManualClock();
    const newer = await sim(clock, { api: 'jobs', namespace: 'new' });
    const older = await sim(clock, { api: 'legacy', namespace: 'old', seed: false });
    older.submit({ promptId: 'render-42', durationMs: 1000 });
    clock.advance(1000);
    const backend = adapter(clock, [
      { name: 'new', url: newer.server.url },
      { name: 'old', url: older.server.url },
    ]);
    return { newer, older, backend };
  }

  it("finds the older host's job; the newer host, which could not have accepted the id, truly does not know it", async () => {
    const { newer, backend } = await mixed();
    expect(await backend.getStatus('render-42', ctx())).toMatchObject({ found: true, status: 'succeeded', host: 'old' });
    expect(await backend.getStatus('render-43', ctx())).toEqual({ found: false, status: 'unknown', raw_status: null });
    expect(await backend.cancel('render-43', ctx())).toMatchObject({ outcome: 'not_found' });
    // The newer host was asked through its jobs API, which answered its own JSON "not found".
    expect(newer.server.requests.some((r) => r.path === '/api/jobs/render-43')).toBe(true);
    expect(newer.server.requests.some((r) => r.path === '/queue')).toBe(false);
  });

  it('an id the newer host cannot route is unknown on both, and does not make the gateway take that host for an older server', async () => {
    const { newer, older, backend } = await mixed();
    older.submit({ promptId: '{x}', durationMs: 1000 });
    expect(await backend.getStatus('{x}', ctx())).toMatchObject({ found: true, status: 'running', host: 'old' });
    expect(await backend.getStatus('{y}', ctx())).toEqual({ found: false, status: 'unknown', raw_status: null });
    const queueReads = newer.server.requests.filter((r) => r.path === '/queue').length;
    expect(await backend.getStatus(newer.seeds.running[0]!, ctx())).toMatchObject({ found: true, raw_status: 'in_progress', host: 'new' });
    expect(newer.server.requests.filter((r) => r.path === '/queue').length).toBe(queueReads);
  });
});

describe('ComfyUI job ids no path can name, on a host configured as jobs API', () => {
  it('reads and cancels them through /queue and /history, never naming the host in an error', async () => {
    const { sim: s, backend } = await oneHost('jobs', { seed: false }, 'jobs');
    expect(await backend.getStatus('{x9d01}', ctx())).toEqual({ found: false, status: 'unknown', raw_status: null });
    expect(await backend.cancel('{x9d01}', ctx())).toMatchObject({ outcome: 'not_found' });
    const paths = s.server.requests.map((r) => r.path);
    expect(paths.some((p) => p.startsWith('/api/jobs/'))).toBe(false);
    expect(paths.filter((p) => p === '/queue').length).toBeGreaterThan(0);
    expect(paths.filter((p) => p === '/history').length).toBeGreaterThan(0);
  });
});
