// Waits through the official MCP Python SDK client (PyPI `mcp`, pinned in scripts/tools/install.ts), in
// both protocol eras (`modern` pins 2026-07-28, `legacy` the 2025 initialize handshake): a wait that
// ends on a change, one that ends at its deadline, heartbeats at the SDK's progress callback, and a
// confirmed cancel. The client is test/e2e/python/wait_client.py, a separate process that makes one
// call and prints one JSON report. The sandbox clock is manual: while the Python call waits, the
// test moves it, once the simulation has seen the gateway's first request for the job (so the
// Python process's start-up time never decides the outcome).
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimRequest } from '../../src/simulation/sim-server.ts';
import type { Simulation } from '../../src/simulation/simulation.ts';
import { fastWaits, seed, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { ensurePythonMcp, REPO_ROOT } from '../../scripts/tools/install.ts';
import { expectMatchesOutputSchema } from '../helpers/result-schemas.ts';
import { seenOrEnded } from '../helpers/until.ts';

const SCRIPT = join(REPO_ROOT, 'test', 'e2e', 'python', 'wait_client.py');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Mode = 'modern' | 'legacy';
interface Report {
  mode: Mode;
  protocol_version: string | null;
  connect_error?: { type: string; message: string };
  result?: { structuredContent: any; isError: boolean | null };
  error?: { type: string; message: string; code?: number };
  progress: { progress: number; total: number | null; message: string | null }[];
  elapsed_seconds?: number;
  /** The tool the client called (added on this side, for the result's schema check). */
  tool: string;
}

let python: string;
beforeAll(async () => {
  python = await ensurePythonMcp(); // cold: python3 -m venv + pip install, ~15 s here
}, 300_000);

describe.each([
  { mode: 'legacy' as const, version: '2025-11-25' },
  { mode: 'modern' as const, version: '2026-07-28' },
])('waits through the MCP Python SDK client in $mode mode', ({ mode, version }) => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ configure: (c) => ({ ...c, waits: fastWaits(3) }) });
  });
  afterAll(async () => t?.close());

  const requestsOf = (kind: Simulation['kind']) => t.sandbox.simulations.find((s) => s.kind === kind)!.server.requests;

  /** Starts the Python client on one call; resolves with its report. */
  async function runClient(name: string, args: Record<string, unknown>): Promise<Report> {
    const { stdout } = await promisify(execFile)(python, [SCRIPT, t.mcpUrl, t.token!, mode, name, JSON.stringify(args)], {
      timeout: 60_000,
    });
    return { ...(JSON.parse(stdout) as Omit<Report, 'tool'>), tool: name };
  }

  /** The call's result, or a failure that quotes what the Python client saw. */
  function resultOf(r: Report): { structuredContent: any; isError: boolean | null } {
    expect(r.protocol_version).toBe(version);
    if (!r.result) throw new Error(`the call failed in ${mode} mode: ${JSON.stringify(r.error ?? r.connect_error)}`);
    return expectMatchesOutputSchema(r.tool, r.result);
  }

  /** Resolves once the simulation has received a request matching `match`, or the client has ended. */
  const seen = (kind: Simulation['kind'], match: (r: SimRequest) => boolean, client: Promise<Report>) =>
    seenOrEnded(kind, requestsOf(kind), match, client, 30_000);

  it('answers changed=true with the new status when the job changes during the wait', async () => {
    const job = seed(t, 'agents', 'queued');
    const waiting = runClient('get_job_status', { project_reference: 'agents', job_id: job, wait_seconds: 3, known_status: 'queued' });
    await seen('agent_jobs', (r) => r.method === 'GET' && r.path.includes(job), waiting);
    await sleep(300); // the call is waiting now: its first read answered `queued`
    t.clock.advance(6 * 60_000); // the simulation starts the job after 5 minutes
    const result = resultOf(await waiting);
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ found: true, status: 'running', changed: true, terminal: false });
    // It answered on the change, well before its 3 s deadline.
    expect(result.structuredContent.waited_seconds).toBeGreaterThanOrEqual(0.3);
    expect(result.structuredContent.waited_seconds).toBeLessThan(2.5);
  });

  // One call shows both: the wait that reaches its deadline, and the heartbeats on the way.
  let deadlineRun: Promise<Report> | undefined;
  const waitToDeadline = () =>
    (deadlineRun ??= runClient('get_job_status', {
      project_reference: 'agents',
      job_id: seed(t, 'agents', 'long_running'),
      wait_seconds: 1,
    }));

  it('answers at the deadline with changed=false and the current status, not an error', async () => {
    const report = await waitToDeadline();
    const result = resultOf(report);
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ found: true, status: 'running', changed: false, terminal: false });
    expect(result.structuredContent.waited_seconds).toBeGreaterThanOrEqual(1);
    expect(result.structuredContent.waited_seconds).toBeLessThan(2);
    expect(report.elapsed_seconds).toBeGreaterThanOrEqual(1);
  });

  it('delivers heartbeats to the SDK progress callback while it waits, naming the status', async () => {
    const report = await waitToDeadline();
    resultOf(report);
    const { progress } = report;
    // 1 s at one heartbeat per 0.05 s: many, but at least a few on any machine.
    expect(progress.length).toBeGreaterThanOrEqual(3);
    expect(progress.at(-1)!.message).toBe('Waiting: status running.');
    // `progress` counts the seconds waited, up to `total`, the seconds of the wait.
    for (const p of progress) expect(p.total).toBe(1);
    const waited = progress.map((p) => p.progress);
    expect(waited).toEqual([...waited].sort((a, b) => a - b));
    expect(waited.at(-1)!).toBeLessThanOrEqual(1);
  });

  it('confirms a cancel: outcome cancelled once the stop is effective', async () => {
    const job = seed(t, 'site-x', 'running');
    const cancelling = runClient('cancel_job', { project_reference: 'site-x', job_id: job, wait_seconds: 3 });
    await seen('project_runtime', (r) => r.method === 'POST' && r.path.includes(job) && r.path.endsWith('/cancel'), cancelling);
    await sleep(300); // the job is signalled, and the call waits for it to stop
    t.clock.advance(10_000); // the simulated runtime stops a signalled job after 5 s
    const result = resultOf(await cancelling);
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({
      outcome: 'cancelled',
      status_before: 'running',
      status_after: 'cancelled',
      terminal: true,
    });
    expect(result.structuredContent.waited_seconds).toBeGreaterThanOrEqual(0.3);
    expect(result.structuredContent.waited_seconds).toBeLessThan(2.5);
  });
});
