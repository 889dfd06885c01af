// Waits through the TypeScript SDK clients of both eras against the sandbox: a wait that ends on a
// change (the simulation's clock moves while the call waits), one that ends at its deadline, a
// confirmed cancel, heartbeats at the client's progress handler, 20 callers on one job read once
// per interval (counted at the simulation), a client that aborts or goes away, the per-caller cap, and the bounds of wait_seconds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fastWaits, startTestGateway, seed, type TestGateway } from '../helpers/gateway.ts';
import type { Simulation } from '../../src/simulation/simulation.ts';

type Era = 'modern' | 'legacy';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(['modern', 'legacy'] as Era[])('waits (%s era)', (era) => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ configure: (c) => ({ ...c, waits: fastWaits(2) }) });
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
    const sent = Date.now();
    const waiting = call('get_job_status', { project_reference: 'agents', job_id: job, wait_seconds: 2, known_status: 'queued' });
    await sleep(300);
    t.clock.advance(6 * 60_000); // the simulation starts the job after 5 minutes
    const started = Date.now();
    const result = await waiting;
    expect(Date.now() - started).toBeLessThan(1000);
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ status: 'running', changed: true, terminal: false });
    // It waited for the change: from its arrival (later than `sent` on a busy machine) until the advance.
    const waited = (result.structuredContent as { waited_seconds: number }).waited_seconds;
    expect(waited).toBeGreaterThanOrEqual(0.1);
    expect(waited).toBeLessThanOrEqual((Date.now() - sent) / 1000);
  });

  it('answers at the deadline with the current status and changed=false, with heartbeats on the way', async () => {
    const job = seed(t, 'agents', 'long_running');
    const progress: string[] = [];
    const result = await call('get_job_status', { project_reference: 'agents', job_id: job, wait_seconds: 0.5 }, { progress });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ status: 'running', changed: false, terminal: false });
    expect((result.structuredContent as { waited_seconds: number }).waited_seconds).toBeGreaterThanOrEqual(0.5);
    expect(progress.length).toBeGreaterThanOrEqual(3);
    expect(progress.at(-1)).toBe('Waiting: status running.');
  });

  it('confirms a cancel: cancelled with the confirmed status_after', async () => {
    const job = seed(t, 'site-x', 'running');
    const cancelling = call('cancel_job', { project_reference: 'site-x', job_id: job, wait_seconds: 2 });
    await sleep(300);
    t.clock.advance(10_000); // the simulated runtime stops a signalled job after 5 s
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
    await sleep(300);
    const refused = await call('get_job_status', args);
    expect(refused.isError).toBe(true);
    expect(refused.structuredContent).toMatchObject({ error: { code: 'RATE_LIMITED' } });
    const results = await Promise.all(waits);
    expect(results.every((r) => !r.isError && (r.structuredContent as { changed: boolean }).changed === false)).toBe(true);
    // About 1 s at one read per 0.1 s: one poll per interval, not 20.
    const reads = readsOf('agent_jobs', job) - before;
    expect(reads).toBeGreaterThanOrEqual(5);
    expect(reads).toBeLessThanOrEqual(14);
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
      await sleep(300);
      await leave();
      expect(await settled).toBe('ended');
      await sleep(150);
      const reads = readsOf('project_runtime', job);
      await sleep(300);
      expect(readsOf('project_runtime', job)).toBe(reads);
    },
  );

  it('shortens a wait beyond the configured maximum, and refuses one beyond the schema bound', async () => {
    const job = seed(t, 'agents', 'long_running');
    const result = await call('get_job_status', { project_reference: 'agents', job_id: job, wait_seconds: 100 });
    expect(result.structuredContent).toMatchObject({ changed: false });
    const waited = (result.structuredContent as { waited_seconds: number }).waited_seconds;
    expect(waited).toBeGreaterThanOrEqual(2);
    expect(waited).toBeLessThan(3);
    const refused = await call('get_job_status', { project_reference: 'agents', job_id: job, wait_seconds: 601 });
    expect(refused.isError).toBe(true);
    expect(refused.structuredContent).toMatchObject({ error: { code: 'INVALID_ARGUMENT' } });
  });
});

describe('waits at shutdown', () => {
  it('answers a waiting call at once with the current status when the gateway stops', async () => {
    const t = await startTestGateway();
    try {
      const job = seed(t, 'agents', 'long_running');
      const waiting = (await t.client()).callTool({
        name: 'get_job_status',
        arguments: { project_reference: 'agents', job_id: job, wait_seconds: 60 },
      });
      await sleep(300);
      const started = Date.now();
      await t.gateway.close({ graceMs: 10_000 });
      const result = await waiting;
      expect(Date.now() - started).toBeLessThan(2000);
      expect(result.structuredContent).toMatchObject({ status: 'running', changed: false });
    } finally {
      await t.sandbox.close();
    }
  });
});
