// The MCP Tasks extension (io.modelcontextprotocol/tasks, SEP-2663, MCP 2026-07-28) through a real
// client that drives it: FastMCP's (PyPI fastmcp[tasks], pinned in scripts/tools/install.ts), whose
// fastmcp-tasks package declares the extension on each request once imported. A waiting call becomes
// a task that the client polls with tasks/get to its end, transparently (call_tool) or through a
// handle (call_tool_task); a confirmed cancel_job as a task; tasks/cancel ends the task and leaves the
// backend job alone; another caller's token finds no such task; a client without the extension, and a
// call answered at once, get the synchronous answer inline.
// The client is test/e2e/python/tasks_client.py, a separate process that runs one scenario and prints
// one JSON report (with every JSON-RPC request it sent and, for tasks/*, their HTTP headers). The
// sandbox clock is manual: the test moves it once the gateway has been seen reading the job, or once
// the client holds its task (the script waits for a line on stdin there), so the Python process's
// speed never decides an outcome.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SimRequest } from '../../src/simulation/sim-server.ts';
import type { Simulation } from '../../src/simulation/simulation.ts';
import { fastWaits, seed, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { ensurePythonFastmcpTasks, REPO_ROOT } from '../../scripts/tools/install.ts';
import { expectMatchesOutputSchema } from '../helpers/result-schemas.ts';
import { seenOrEnded, until } from '../helpers/until.ts';
import { fencedBlock, runExample } from '../helpers/doc-examples.ts';

const SCRIPT = join(REPO_ROOT, 'test', 'e2e', 'python', 'tasks_client.py');
const TASKS = 'io.modelcontextprotocol/tasks';
const MODERN = '2026-07-28';
/** Longer than any test here runs: a task's wait must not reach its deadline before the test moves the clock. */
const WAIT_SECONDS = 25;

type Scenario = 'poll' | 'handle' | 'task_cancel' | 'other_caller' | 'inline' | 'plain';
interface WireRequest {
  who: 'owner' | 'other';
  method: string;
  declares_tasks: boolean;
  task_id?: string;
  /** For tools/call and tasks/*: every HTTP header, lower-cased (the bearer token redacted). */
  headers?: Record<string, string>;
}
interface ToolResult {
  structuredContent: any;
  isError: boolean | null;
}
interface TaskFields {
  resultType: string;
  taskId: string;
  status: string;
  statusMessage?: string;
  createdAt: string;
  lastUpdatedAt: string;
  ttlMs?: number | null;
  pollIntervalMs?: number;
  result?: ToolResult & { content?: unknown[] };
}
interface ErrorReport {
  type: string;
  message: string;
  code?: number;
}
interface Report {
  scenario: Scenario;
  protocol_version: string | null;
  server_extensions?: string[];
  requests: WireRequest[];
  fastmcp_tasks_imported: boolean;
  fastmcp_tasks_version?: string;
  failure?: ErrorReport;
  result?: ToolResult;
  error?: ErrorReport;
  task_id?: string;
  created?: TaskFields;
  after_cancel?: TaskFields;
  final?: TaskFields;
  owner_get?: TaskFields;
  job_after?: ToolResult;
  other_get?: ErrorReport;
  other_cancel?: ErrorReport;
  unknown_get?: ErrorReport;
}

let python: string;
beforeAll(async () => {
  python = await ensurePythonFastmcpTasks(); // cold: python3 -m venv + pip install, ~30 s here
}, 300_000);

// Each test starts a Python process (FastMCP takes seconds to import on a busy machine).
describe('MCP Tasks through fastmcp[tasks] 4.1.4', { timeout: 120_000 }, () => {
  // A gateway per test: each moves the sandbox clock its own way, and starts from no tasks.
  let t: TestGateway;
  beforeEach(async () => {
    t = await startTestGateway({ configure: (c) => ({ ...c, waits: fastWaits(30) }) });
  });
  afterEach(async () => t?.close());

  const requestsOf = (kind: Simulation['kind']) => t.sandbox.simulations.find((s) => s.kind === kind)!.server.requests;

  /**
   * Runs the Python client on one scenario; resolves with its report. At each step line it prints, `onStep`
   * runs and then the client is let go on (a line on its stdin).
   */
  function runClient(
    scenario: Scenario,
    config: { tool: string; arguments: Record<string, unknown>; other_token?: string },
    onStep?: (step: { step: string; task_id?: string }) => Promise<void>,
  ): Promise<Report> {
    return new Promise((resolve, reject) => {
      const child = spawn(python, [SCRIPT, t.mcpUrl, scenario, JSON.stringify({ token: t.token, ...config })], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
      let stdout = '';
      let stderr = '';
      let report: Report | undefined;
      let pending = '';
      let steps: Promise<void> = Promise.resolve();
      child.stdin.on('error', () => {}); // a go-ahead to a client that has ended: its report says why
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        pending += d.toString();
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl).trim();
          pending = pending.slice(nl + 1);
          let parsed: { step?: string; task_id?: string; scenario?: string } | null;
          try {
            parsed = JSON.parse(line) as typeof parsed;
          } catch {
            continue; // not a line of the script's own (a library's print): kept in stdout for the failure message
          }
          if (parsed?.scenario !== undefined) report = parsed as Report;
          if (parsed?.step !== undefined) {
            const step = { step: parsed.step, ...(parsed.task_id ? { task_id: parsed.task_id } : {}) };
            steps = steps.then(async () => {
              try {
                if (onStep) await onStep(step);
              } finally {
                child.stdin.write('go\n');
              }
            });
          }
        }
      });
      child.on('error', reject);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        void steps.then(
          () => {
            if (report) resolve(report);
            else
              reject(
                new Error(`tasks_client.py ${scenario} ended (${code ?? signal}) with no report.\nstdout: ${stdout}\nstderr: ${stderr}`),
              );
          },
          (e: unknown) => reject(e as Error),
        );
      });
    });
  }

  /** Resolves once the simulation has received a request matching `match`, or the client has ended. */
  const seen = (kind: Simulation['kind'], match: (r: SimRequest) => boolean, client: Promise<Report>) =>
    seenOrEnded(kind, requestsOf(kind), match, client);

  /** The report, or a failure that quotes what the Python client met. */
  function ok(r: Report): Report {
    if (r.failure || r.error)
      throw new Error(`the ${r.scenario} scenario failed: ${JSON.stringify(r.failure ?? r.error)}\n${JSON.stringify(r)}`);
    expect(r.protocol_version).toBe(MODERN);
    return r;
  }

  const tasksRequests = (r: Report, method: string) => r.requests.filter((q) => q.method === method);
  const toolCalls = (r: Report) => tasksRequests(r, 'tools/call');
  const backendWrites = (kind: Simulation['kind'], job: string) =>
    requestsOf(kind).filter((q) => q.method !== 'GET' && q.path.includes(job));

  /** A task as the gateway created it: working, with the timing fields a client needs. */
  function expectCreatedTask(created: TaskFields | undefined): void {
    expect(created).toMatchObject({ resultType: 'task', status: 'working' });
    expect(created!.taskId).toEqual(expect.any(String));
    expect(Date.parse(created!.createdAt)).not.toBeNaN();
    expect(Date.parse(created!.lastUpdatedAt)).not.toBeNaN();
    expect(created!.pollIntervalMs).toBeGreaterThan(0);
  }

  it('advertises the extension, and a waiting get_job_status becomes a task call_tool polls with tasks/get to the job’s end', async () => {
    const job = seed(t, 'agents', 'running'); // ends after 10 minutes of the sandbox clock
    const polling = runClient('poll', {
      tool: 'get_job_status',
      arguments: { project_reference: 'agents', job_id: job, wait_seconds: WAIT_SECONDS },
    });
    await seen('agent_jobs', (r) => r.method === 'GET' && r.path.includes(job), polling);
    t.clock.advance(11 * 60_000); // the job has ended: the next read of it, made for a tasks/get, says so
    const report = ok(await polling);

    expect(report.fastmcp_tasks_version).toBe('4.1.4');
    expect(report.server_extensions).toContain(TASKS);
    const [call] = toolCalls(report);
    expect(call!.declares_tasks).toBe(true);
    // The client got a task (it only polls one it was given), and polled that one task.
    const gets = tasksRequests(report, 'tasks/get');
    expect(gets.length).toBeGreaterThanOrEqual(1);
    expect(new Set(gets.map((g) => g.task_id)).size).toBe(1);
    expect(gets[0]!.task_id).toEqual(expect.any(String));
    // What fastmcp-tasks 4.1.4 puts on the wire for tasks/get: Mcp-Method and the protocol version, but
    // no Mcp-Name (the SDK alone would refuse a tasks/* request without it; the gateway must serve it).
    expect(gets[0]!.headers).toMatchObject({
      'mcp-method': 'tasks/get',
      'mcp-protocol-version': MODERN,
      authorization: 'Bearer <redacted>',
    });
    expect(gets[0]!.headers!['mcp-name']).toBeUndefined();
    expect(gets.every((g) => g.declares_tasks)).toBe(true);

    const result = expectMatchesOutputSchema('get_job_status', report.result!);
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ found: true, status: 'succeeded', changed: true, terminal: true });
  });

  it('gives call_tool_task a handle whose wait() and result() end with the job’s change', async () => {
    const job = seed(t, 'agents', 'queued'); // starts after 5 minutes of the sandbox clock
    const report = ok(
      await runClient(
        'handle',
        {
          tool: 'get_job_status',
          arguments: { project_reference: 'agents', job_id: job, wait_seconds: WAIT_SECONDS, known_status: 'queued' },
        },
        async () => {
          t.clock.advance(6 * 60_000); // the client holds a working task: now the job starts
        },
      ),
    );
    expectCreatedTask(report.created);
    expect(report.task_id).toBe(report.created!.taskId);
    expect(report.final).toMatchObject({ resultType: 'complete', taskId: report.task_id, status: 'completed' });
    // tasks/get inlines the CallToolResult the synchronous call would have given.
    const inlined = expectMatchesOutputSchema('get_job_status', report.final!.result!);
    expect(inlined.structuredContent).toMatchObject({ found: true, status: 'running', changed: true, terminal: false });
    const result = expectMatchesOutputSchema('get_job_status', report.result!);
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ status: 'running', changed: true });
    const gets = tasksRequests(report, 'tasks/get');
    expect(gets.length).toBeGreaterThanOrEqual(1);
    for (const g of gets) expect(g.task_id).toBe(report.task_id);
  });

  it('runs a confirmed cancel_job as a task that completes with outcome cancelled', async () => {
    const job = seed(t, 'site-x', 'running');
    const report = ok(
      await runClient(
        'handle',
        { tool: 'cancel_job', arguments: { project_reference: 'site-x', job_id: job, wait_seconds: WAIT_SECONDS } },
        async () => {
          // The cancel was asked of the runtime before the task was made; the stop is not confirmed yet.
          expect(backendWrites('project_runtime', job).some((r) => r.method === 'POST' && r.path.endsWith('/cancel'))).toBe(true);
          t.clock.advance(10_000); // the simulated runtime stops a signalled job after 5 s
        },
      ),
    );
    expectCreatedTask(report.created);
    expect(report.final).toMatchObject({ taskId: report.task_id, status: 'completed' });
    const result = expectMatchesOutputSchema('cancel_job', report.result!);
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({
      outcome: 'cancelled',
      status_before: 'running',
      status_after: 'cancelled',
      terminal: true,
    });
    expect(tasksRequests(report, 'tasks/get').every((g) => g.task_id === report.task_id)).toBe(true);
  });

  it('tasks/cancel ends the task cancelled and leaves the backend job running', async () => {
    const job = seed(t, 'agents', 'long_running');
    const report = ok(
      await runClient('task_cancel', {
        tool: 'get_job_status',
        arguments: { project_reference: 'agents', job_id: job, wait_seconds: WAIT_SECONDS },
      }),
    );
    expectCreatedTask(report.created);
    const [cancel, ...more] = tasksRequests(report, 'tasks/cancel');
    expect(more).toEqual([]);
    expect(cancel).toMatchObject({ task_id: report.task_id, declares_tasks: true });
    expect(cancel!.headers).toMatchObject({ 'mcp-method': 'tasks/cancel', 'mcp-protocol-version': MODERN });
    // The tasks/get right after the acknowledgement already says cancelled, with no result.
    expect(report.after_cancel).toMatchObject({ taskId: report.task_id, status: 'cancelled' });
    expect(report.final).toMatchObject({ taskId: report.task_id, status: 'cancelled' });
    expect(report.final!.result).toBeUndefined();
    // fastmcp-tasks turns a cancelled task into an error result of its own.
    expect(report.result!.isError).toBe(true);
    // The job itself: untouched, still running.
    expect(backendWrites('agent_jobs', job)).toEqual([]);
    const after = expectMatchesOutputSchema('get_job_status', report.job_after!);
    expect(after.structuredContent).toMatchObject({ found: true, status: 'running', terminal: false });
  });

  it('finds no task for another caller’s token, nor for an unknown id (-32602)', async () => {
    const job = seed(t, 'agents', 'long_running');
    const otherToken = await t.mint({ subject: 'another-caller' });
    const report = ok(
      await runClient('other_caller', {
        tool: 'get_job_status',
        arguments: { project_reference: 'agents', job_id: job, wait_seconds: WAIT_SECONDS },
        other_token: otherToken,
      }),
    );
    expectCreatedTask(report.created);
    // The other caller asked for the very task id (the requests prove it), and was told there is none.
    const others = report.requests.filter((q) => q.who === 'other' && q.method.startsWith('tasks/'));
    expect(others.map((q) => [q.method, q.task_id])).toEqual([
      ['tasks/get', report.task_id],
      ['tasks/cancel', report.task_id],
    ]);
    expect(report.other_get).toMatchObject({ code: -32602 });
    expect(report.other_cancel).toMatchObject({ code: -32602 });
    expect(report.unknown_get).toMatchObject({ code: -32602 });
    // The other caller's cancel did nothing: the owner still sees its task working, then cancels it.
    expect(report.owner_get).toMatchObject({ taskId: report.task_id, status: 'working' });
    expect(report.final).toMatchObject({ status: 'cancelled' });
    expect(backendWrites('agent_jobs', job)).toEqual([]);
  });

  it('answers a call inline when its answer is known at once, even to a client that declares tasks', async () => {
    const job = seed(t, 'agents', 'succeeded');
    const report = ok(
      await runClient('inline', {
        tool: 'get_job_status',
        arguments: { project_reference: 'agents', job_id: job, wait_seconds: WAIT_SECONDS },
      }),
    );
    expect(toolCalls(report).map((c) => c.declares_tasks)).toEqual([true]);
    expect(report.requests.filter((q) => q.method.startsWith('tasks/'))).toEqual([]);
    const result = expectMatchesOutputSchema('get_job_status', report.result!);
    expect(result.structuredContent).toMatchObject({ found: true, status: 'succeeded', terminal: true });
  });

  it('answers a client that has not enabled tasks inline: the wait runs in the call', async () => {
    const job = seed(t, 'agents', 'long_running');
    const report = ok(
      await runClient('plain', {
        tool: 'get_job_status',
        arguments: { project_reference: 'agents', job_id: job, wait_seconds: 1 },
      }),
    );
    expect(report.fastmcp_tasks_imported).toBe(false);
    expect(report.server_extensions).toContain(TASKS); // the server offers it; this client does not take it
    expect(toolCalls(report).map((c) => c.declares_tasks)).toEqual([false]);
    expect(report.requests.filter((q) => q.method.startsWith('tasks/'))).toEqual([]);
    const result = expectMatchesOutputSchema('get_job_status', report.result!);
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ found: true, status: 'running', changed: false, terminal: false });
    expect(result.structuredContent.waited_seconds).toBeGreaterThanOrEqual(1);
  });

  it('runs the Python example of docs/tasks.md as written, and prints what the page says', async () => {
    const doc = join(REPO_ROOT, 'docs', 'tasks.md');
    const dir = mkdtempSync(join(tmpdir(), 'tasks-example-'));
    writeFileSync(join(dir, 'example.py'), fencedBlock(doc, /^### Python: FastMCP$/, '```python'));
    const job = seed(t, 'agents', 'queued');
    const created = () => t.gateway.metrics.registry.getSingleMetricAsString('mcp_job_gateway_tasks_total');
    const example = runExample(python, [join(dir, 'example.py')], { MCP_URL: t.mcpUrl, MCP_TOKEN: t.token!, JOB_ID: job });
    try {
      // Once the example holds its task, the job starts (the simulation starts it after 5 minutes).
      await until('the example to hold its task', async () => /event="created"} [1-9]/.test(await created()) || example.ended());
      t.clock.advance(6 * 60_000);
      expect(await example.exited, example.stderr()).toBe(0);
    } finally {
      example.kill();
      rmSync(dir, { recursive: true, force: true });
    }
    expect(example.stdout()).toBe(fencedBlock(doc, /^<!-- python tasks example output -->$/, '```'));
  });
});
