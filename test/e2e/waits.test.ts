// Waits through the TypeScript SDK clients of both eras against the sandbox: a wait that ends on a
// change (the simulation's clock moves while the call waits), one that ends at its deadline, a
// confirmed cancel, heartbeats at the client's progress handler, 20 callers on one job read once
// per interval (counted at the simulation), a client that aborts or goes away, the per-caller cap, and the bounds of wait_seconds.
// The waits run on a manual clock (test/helpers/manual-timers.ts): a test moves it past the polls,
// heartbeats and deadlines it means, and between two steps it waits for what the last one started
// (a read at the simulation, a read answered in the metrics), so nothing depends on the machine's speed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answeredReads, fastWaits, startTestGateway, seed, type TestGateway } from '../helpers/gateway.ts';
import { ManualTimers } from '../helpers/manual-timers.ts';
import { until } from '../helpers/until.ts';
import type { Simulation } from '../../src/simulation/simulation.ts';

type Era = 'modern' | 'legacy';

describe.each(['modern', 'legacy'] as Era[])('waits (%s era)', (era) => {
  let t: TestGateway;
  const timers = new ManualTimers();
  beforeAll(async () => {
    t = await startTestGateway({ configure: (c) => ({ ...c, waits: fastWaits(2) }), deps: { clock: timers } });
  });
  afterAll(async () => t?.close());

  const sim = (kind: Simulation['kind']) => t.sandbox.simulations.find((s) => s.kind === kind)!;
  const readsOf = (kind: Simulation['kind'], jobId: string) =>
    sim(kind).server.requests.filter((r) => r.method === 'GET' && r.path.includes(jobId)).length;

  /** Calls a tool with this era's client; progress messages go to `progress` when given. */
  async function call(name: string, args: Record<string, unknown>, options: { progress?: string[]; signal?: AbortSignal } = {}) {
    const onprogress = options.progress ? (p: { message?: string }) => void options.progress!.push(p.message ?? '') : undefined;
    const requestOptions = { ...(onprogress ? { onprogress } : {}), ...(options.signal ? { signal: options.signal } : {}) };
    if (era === 'modern') return (await t.modernClient()).callTool({ name, arguments: args }, requestOptions);
    return (await t.client()).callTool({ name, arguments: args }, undefined, requestOptions);
  }

  it('answers as soon as the status differs from known_status', async () => {
    const job = seed(t, 'agents', 'queued');
    const reads = readsOf('agent_jobs', job);
    const waiting = call('get_job_status', { project_reference: 'agents', job_id: job, wait_seconds: 2, known_status: 'queued' });
    // The simulation answers a read from its clock as the read arrives: the first one says queued.
    await until('the wait to read the job', () => readsOf('agent_jobs', job) > reads);
    t.clock.advance(6 * 60_000); // the simulation starts the job after 5 minutes
    await timers.advance(100); // one poll interval: the next read sees the job running
    const result = await waiting;
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ status: 'running', changed: true, terminal: false });
    // It waited for the change, and answered at the first read after it rather than at its 2 s deadline.
    const waited = (result.structuredContent as { waited_seconds: number }).waited_seconds;
    expect(waited).toBeGreaterThanOrEqual(0.1);
    expect(waited).toBeLessThanOrEqual(0.1);
    expect(readsOf('agent_jobs', job) - reads).toBe(2);
  });

  it('answers at the deadline with the current status and changed=false, with heartbeats on the way', async () => {
    const job = seed(t, 'agents', 'long_running');
    const progress: string[] = [];
    const answered = await answeredReads(t, 'agent_jobs');
    const waiting = call('get_job_status', { project_reference: 'agents', job_id: job, wait_seconds: 0.5 }, { progress });
    // Once the first read is answered, every heartbeat has a status to tell.
    await until('the first read answered', async () => (await answeredReads(t, 'agent_jobs')) > answered);
    await timers.advance(500);
    const result = await waiting;
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ status: 'running', changed: false, terminal: false });
    expect((result.structuredContent as { waited_seconds: number }).waited_seconds).toBeGreaterThanOrEqual(0.5);
    expect((result.structuredContent as { waited_seconds: number }).waited_seconds).toBe(0.5);
    expect(progress.length).toBeGreaterThanOrEqual(3);
    // One per heartbeat interval (0.05 s) until the deadline.
    expect(progress).toEqual(Array(9).fill('Waiting: status running.'));
    expect(progress.at(-1)).toBe('Waiting: status running.');
  });

  it('confirms a cancel: cancelled with the confirmed status_after', async () => {
    const job = seed(t, 'site-x', 'running');
    const reads = readsOf('project_runtime', job);
    const cancelling = call('cancel_job', { project_reference: 'site-x', job_id: job, wait_seconds: 2 });
    // The read before the cancel, then the wait's first read (still running: the clock has not moved).
    await until('the wait to read the job', () => readsOf('project_runtime', job) >= reads + 2);
    t.clock.advance(10_000); // the simulated runtime stops a signalled job after 5 s
    await timers.advance(50); // one poll interval: the next read sees it cancelled
    const result = await cancelling;
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ outcome: 'cancelled', status_after: 'cancelled', terminal: true });
    expect((result.structuredContent as { waited_seconds: number }).waited_seconds).toBeGreaterThan(0);
  });

  it('reads one job once per interval for 20 waiting callers, and refuses a 21st concurrent wait with RATE_LIMITED', async () => {
    const job = seed(t, 'agents', 'long_running');
    const args = { project_reference: 'agents', job_id: job, wait_seconds: 1 };
    const before = readsOf('agent_jobs', job);
    const waits = Array.from({ length: 20 }, () => call('get_job_status', args));
    // A wait sets its 1 s deadline as it starts (after taking its slot).
    await until('20 waits to start', () => timers.pending().filter((ms) => ms === 1000).length === 20);
    const refused = await call('get_job_status', args);
    expect(refused.isError).toBe(true);
    expect(refused.structuredContent).toMatchObject({ error: { code: 'RATE_LIMITED' } });
    // 1 s in poll intervals (0.1 s), each step once the read it started has reached the simulation.
    for (let step = 1; step <= 10; step++) {
      await until(`read ${step}`, () => readsOf('agent_jobs', job) - before === step);
      await timers.advance(100);
    }
    const results = await Promise.all(waits);
    expect(results.every((r) => !r.isError && (r.structuredContent as { changed: boolean }).changed === false)).toBe(true);
    // 1 s at one read per 0.1 s: one poll per interval, not 20 (reads at 0 to 0.9 s; the deadlines come before the read due at 1 s).
    const reads = readsOf('agent_jobs', job) - before;
    expect(reads).toBeGreaterThanOrEqual(5);
    expect(reads).toBeLessThanOrEqual(14);
    expect(reads).toBe(10);
  });

  // The 2026-07-28 client cancels a call by closing its response stream. The 1.x client's abort only
  // sends notifications/cancelled, which a stateless 2025-era server cannot match to the call: there
  // the wait ends when the client goes away (its transport closes the connection).
  it(
    era === 'modern'
      ? 'ends the wait when the client aborts the call, and reads the job no more'
      : 'ends the wait when the client goes away, and reads the job no more',
    async () => {
      const job = seed(t, 'site-x', 'long_running');
      const args = { project_reference: 'site-x', job_id: job, wait_seconds: 2 };
      const before = readsOf('project_runtime', job);
      let waiting: Promise<unknown>;
      let leave: () => Promise<void> | void;
      if (era === 'modern') {
        const abort = new AbortController();
        waiting = (await t.modernClient()).callTool({ name: 'get_job_status', arguments: args }, { signal: abort.signal });
        leave = () => abort.abort();
      } else {
        const client = await t.client();
        waiting = client.callTool({ name: 'get_job_status', arguments: args });
        leave = () => client.close();
      }
      const settled = waiting.then(
        () => 'answered',
        () => 'ended',
      );
      await until('the wait to read the job', () => readsOf('project_runtime', job) > before);
      await leave();
      expect(await settled).toBe('ended');
      // The gateway sees the call end (on its own time: a closed connection, a cancelled stream) and
      // drops the wait's timers and the job's poller.
      await until('the gateway to end the wait', () => timers.pending().length === 0);
      const reads = readsOf('project_runtime', job);
      await timers.advance(300); // six poll intervals
      expect(readsOf('project_runtime', job)).toBe(reads);
    },
  );

  it('shortens a wait beyond the configured maximum, and refuses one beyond the schema bound', async () => {
    const job = seed(t, 'agents', 'long_running');
    const waiting = call('get_job_status', { project_reference: 'agents', job_id: job, wait_seconds: 100 });
    await until('the wait to start', () => timers.pending().includes(2000));
    await timers.advance(2000);
    const result = await waiting;
    expect(result.structuredContent).toMatchObject({ changed: false });
    const waited = (result.structuredContent as { waited_seconds: number }).waited_seconds;
    expect(waited).toBeGreaterThanOrEqual(2);
    expect(waited).toBeLessThan(3);
    expect(waited).toBe(2);
    // The bound is a week, the longest any setting allows (waits.task_max_seconds at most).
    const refused = await call('get_job_status', { project_reference: 'agents', job_id: job, wait_seconds: 604_801 });
    expect(refused.isError).toBe(true);
    expect(refused.structuredContent).toMatchObject({ error: { code: 'INVALID_ARGUMENT' } });
  });
});

describe('waits at shutdown', () => {
  it('answers a waiting call at once with the current status when the gateway stops', async () => {
    const timers = new ManualTimers();
    const t = await startTestGateway({ deps: { clock: timers } });
    try {
      const job = seed(t, 'agents', 'long_running');
      const answered = await answeredReads(t, 'agent_jobs');
      const waiting = (await t.client()).callTool({
        name: 'get_job_status',
        arguments: { project_reference: 'agents', job_id: job, wait_seconds: 60 },
      });
      await until('the first read answered', async () => (await answeredReads(t, 'agent_jobs')) > answered);
      await t.gateway.close({ graceMs: 10_000 });
      const result = await waiting;
      // The clock never moves, so only the stop can end the wait, and it does so at once: a call the
      // stop had to abort after its grace would get an error, not the status.
      expect(result.isError).toBeFalsy();
      expect(result.structuredContent).toMatchObject({ status: 'running', changed: false, waited_seconds: 0 });
    } finally {
      await t.sandbox.close();
    }
  });
});
