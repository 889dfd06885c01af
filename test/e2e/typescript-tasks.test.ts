// The MCP Tasks extension (io.modelcontextprotocol/tasks, MCP 2026-07-28) through the official
// TypeScript requester, @modelcontextprotocol/ext-tasks 0.2.2, over a @modelcontextprotocol/client 2.4
// client: server/discover advertises the extension; a waiting get_job_status and a confirming
// cancel_job become tasks that ext-tasks polls to completion (a job that failed is still a completed
// task); tasks/cancel ends the task, not the job; another caller's task is not found; clients that do
// not declare the extension get the same waiting call answered inline; tasks/* without the extension
// declared is -32021.
// ext-tasks needs two things from its host for a 2026-07-28 server: `rawDispatch`, a request path that
// owns its ids and responses (the SDK client rejects a `resultType: "task"` answer), and
// `v2RequestFraming`, the per-request envelope it adds to tools/call and tasks/* (declaring the
// extension there). Here rawDispatch is a plain HTTP POST with the client's bearer token and the
// 2026-07-28 headers (Mcp-Name comes from ext-tasks for tasks/*), and it records each exchange so a
// test can read the wire.
// The gateway runs on a manual clock (test/helpers/manual-timers.ts) and the simulations on theirs:
// a test ends a job by moving the simulation's clock, then steps the gateway's past a poll interval,
// so a task's next tasks/get reads the job again; nothing depends on the machine's speed. ext-tasks
// polls at the pollIntervalMs the gateway gives (the project's poll interval, tens of milliseconds).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createTaskSessionFromClient,
  DispatchError,
  JsonRpcResponseError,
  resultFromTaskOutcome,
  type JsonRpcResponse,
  type RawClientDispatch,
  type TaskEnabledSession,
  type TaskOutcome,
} from '@modelcontextprotocol/ext-tasks/client';
import { taskId as toTaskId, type JsonValue } from '@modelcontextprotocol/ext-tasks/core';
import { fastWaits, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { ManualTimers } from '../helpers/manual-timers.ts';
import { expectMatchesOutputSchema } from '../helpers/result-schemas.ts';
import { until } from '../helpers/until.ts';
import { fencedBlock, runExample } from '../helpers/doc-examples.ts';
import type { AgentJobsSim } from '../../src/backends/agent-jobs/simulation/server.ts';
import type { ProjectRuntimeSim } from '../../src/backends/project-runtime/simulation/server.ts';

const TASKS = 'io.modelcontextprotocol/tasks';
const PROTOCOL_VERSION = '2026-07-28';
const PROTOCOL_VERSION_META = 'io.modelcontextprotocol/protocolVersion';
const CLIENT_INFO_META = 'io.modelcontextprotocol/clientInfo';
const CLIENT_CAPABILITIES_META = 'io.modelcontextprotocol/clientCapabilities';
/** What t.modernClient() calls itself. */
const CLIENT_INFO = { name: 'test-agent', version: '2.0.0' };
/** The poll intervals fastWaits gives the two kinds used here, in ms (the tasks' pollIntervalMs). */
const AGENT_JOBS_POLL_MS = 100;
const PROJECT_RUNTIME_POLL_MS = 50;

interface JsonRpcRequest {
  jsonrpc: '2.0';
  id: string | number;
  method: string;
  params?: Record<string, unknown>;
}

/** One request of the raw path and its answer, as they crossed the wire. */
interface Exchange {
  request: JsonRpcRequest;
  headers: Record<string, string>;
  httpStatus: number;
  response: JsonRpcResponse;
}

interface ToolResult {
  content: unknown[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

/**
 * POSTs one JSON-RPC request as a 2026-07-28 client does (Content-Type, Accept, MCP-Protocol-Version,
 * Mcp-Method; Mcp-Name and the rest from `headers`) and returns the answer to it, whether the server
 * wrote one JSON body or an event stream. An error answer comes back as one, whatever the HTTP status;
 * an answer that is no JSON-RPC response for this request is a DispatchError.
 */
async function post(
  url: string,
  token: string | undefined,
  request: JsonRpcRequest,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<Omit<Exchange, 'request'>> {
  const sent = new Headers(headers);
  sent.set('content-type', 'application/json');
  sent.set('accept', 'application/json, text/event-stream');
  sent.set('mcp-protocol-version', PROTOCOL_VERSION);
  sent.set('mcp-method', request.method);
  if (token) sent.set('authorization', `Bearer ${token}`);
  const res = await fetch(url, { method: 'POST', headers: sent, body: JSON.stringify(request), ...(signal ? { signal } : {}) });
  const text = await res.text();
  const messages = (res.headers.get('content-type') ?? '').startsWith('text/event-stream') ? eventData(text) : [text];
  for (const data of messages) {
    let message: { id?: unknown; result?: JsonValue; error?: { code: number; message: string; data?: JsonValue } };
    try {
      message = JSON.parse(data) as typeof message;
    } catch {
      continue;
    }
    if (message.error && (message.id === request.id || message.id === null || message.id === undefined)) {
      return { headers: Object.fromEntries(sent), httpStatus: res.status, response: { kind: 'error', error: message.error } };
    }
    if (message.id === request.id && message.result !== undefined) {
      return { headers: Object.fromEntries(sent), httpStatus: res.status, response: { kind: 'result', result: message.result } };
    }
  }
  throw new DispatchError(`${request.method}: HTTP ${res.status} without a JSON-RPC answer: ${text.slice(0, 300)}`);
}

/** An outcome that is not the one expected, with the error ext-tasks saw and the last exchange of the wire. */
function explain(outcome: TaskOutcome<unknown>, wire: readonly Exchange[]): string {
  const error =
    outcome.status === 'failed' ? `${outcome.error.message} ${JSON.stringify(outcome.error.cause ?? outcome.error.data ?? '')}` : '';
  const last = wire.at(-1);
  // The bearer token stays out of the test's output.
  const shown = last && { ...last, headers: { ...last.headers, authorization: 'Bearer …' } };
  return `outcome ${outcome.status} ${error}; last exchange: ${JSON.stringify(shown)}`;
}

/** The data of each event of a text/event-stream body. */
function eventData(stream: string): string[] {
  return stream
    .split(/\r?\n\r?\n/)
    .map((event) =>
      event
        .split(/\r?\n/)
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).replace(/^ /, ''))
        .join('\n'),
    )
    .filter((data) => data !== '');
}

describe('MCP Tasks through @modelcontextprotocol/ext-tasks 0.2.2', () => {
  let t: TestGateway;
  const timers = new ManualTimers();
  let sessions: TaskEnabledSession[] = [];
  beforeAll(async () => {
    t = await startTestGateway({ configure: (c) => ({ ...c, waits: fastWaits(60) }), deps: { clock: timers } });
  });
  afterEach(async () => {
    // Closing a session cancels the tasks it still drives (best effort) and releases its client.
    await Promise.allSettled(sessions.map((s) => s.close()));
    sessions = [];
  });
  afterAll(async () => t?.close());

  const sim = <S>(kind: string) => t.sandbox.simulations.find((s) => s.kind === kind) as unknown as S;
  const agents = () => sim<AgentJobsSim>('agent_jobs');
  const runtime = () => sim<ProjectRuntimeSim>('project_runtime');
  const readsOf = (kind: string, jobId: string) =>
    sim<AgentJobsSim>(kind).server.requests.filter((r) => r.method === 'GET' && r.path.includes(jobId)).length;

  /**
   * An ext-tasks session over a v2 client pinned to 2026-07-28 (with `token`, else the test's own),
   * and the wire of its raw path. The client's discover result must advertise the extension: without
   * it ext-tasks would make a session that never sees a task.
   */
  async function requester(token = t.token) {
    const client = await t.modernClient(token ? { token } : {});
    expect(client.getServerCapabilities()?.extensions?.[TASKS], 'server/discover advertises the Tasks extension').toEqual({});
    const wire: Exchange[] = [];
    let nextId = 0;
    const rawDispatch: RawClientDispatch = async (message, options) => {
      const request = { jsonrpc: '2.0', id: `ext-tasks-${++nextId}`, ...(message as object) } as JsonRpcRequest;
      // ext-tasks names the task (Mcp-Name) on tasks/*; a tools/call names its tool.
      const headers = { ...options?.context?.headers };
      if (request.method === 'tools/call' && typeof request.params?.name === 'string') headers['mcp-name'] = request.params.name;
      const exchange = { request, ...(await post(t.mcpUrl, token, request, headers, options?.signal)) };
      wire.push(exchange);
      return exchange.response;
    };
    const session = createTaskSessionFromClient(client, {
      endpointId: t.mcpUrl,
      rawDispatch,
      v2RequestFraming: { protocolVersion: PROTOCOL_VERSION, clientInfo: CLIENT_INFO, clientCapabilities: {} },
    });
    sessions.push(session as TaskEnabledSession);
    expect(session.capabilities).toMatchObject({ execution: true, cancellation: true });
    return { session, wire };
  }

  /** A get_job_status that waits (up to 30 s of the gateway's clock) through ext-tasks. */
  async function waitAsTask(session: TaskEnabledSession, project: string, jobId: string) {
    const execution = await session.callTool('get_job_status', { project_reference: project, job_id: jobId, wait_seconds: 30 });
    expect(execution.kind, `get_job_status with wait_seconds on a job that is not over is a task (${project}/${jobId})`).toBe('task');
    if (execution.kind !== 'task') throw new Error('not a task');
    return execution;
  }

  /** The JSON-RPC error code a rejected ext-tasks call carried. */
  async function rpcErrorCode(call: Promise<unknown>): Promise<number | string> {
    try {
      await call;
      return 'answered';
    } catch (error) {
      return error instanceof JsonRpcResponseError ? error.code : String(error);
    }
  }

  it('advertises the extension in server/discover', async () => {
    const client = await t.modernClient();
    expect(client.getDiscoverResult()?.capabilities.extensions?.[TASKS]).toEqual({});
  });

  it('runs a waiting get_job_status as a task and polls it to completion when the job ends, a failed job included', async () => {
    const succeeding = agents().addJob({ status: 'RUNNING', runsForMs: 60_000 });
    const failing = agents().addJob({ status: 'RUNNING', runsForMs: 60_000, ending: 'FAILED' });
    const { session, wire } = await requester();
    const first = await waitAsTask(session, 'agents', succeeding);
    const second = await waitAsTask(session, 'agents', failing);

    // The call declared the extension in its envelope, and the answer is the flat CreateTaskResult.
    const created = wire.find((e) => e.request.method === 'tools/call')!;
    const meta = created.request.params!._meta as Record<string, { extensions?: Record<string, unknown> }>;
    expect(meta[CLIENT_CAPABILITIES_META]!.extensions![TASKS]).toEqual({});
    expect(created.response.kind).toBe('result');
    const task = (created.response as { result: Record<string, unknown> }).result;
    expect(task).toMatchObject({ resultType: 'task', taskId: first.handle.taskId, status: 'working', pollIntervalMs: AGENT_JOBS_POLL_MS });
    expect(typeof task.statusMessage).toBe('string');
    expect(Number.isNaN(Date.parse(String(task.createdAt)))).toBe(false);
    expect(Number.isNaN(Date.parse(String(task.lastUpdatedAt)))).toBe(false);
    expect(task.ttlMs === null || (Number.isInteger(task.ttlMs) && (task.ttlMs as number) > 0)).toBe(true);
    expect(second.handle.taskId).not.toBe(first.handle.taskId);

    // Polling reads the job at most once per poll interval: the gateway's clock has not moved.
    const reads = readsOf('agent_jobs', succeeding);
    for (let i = 0; i < 3; i++) {
      const view = await session.task(first.handle.taskId).snapshot();
      expect(view).toMatchObject({ taskId: first.handle.taskId, status: 'working', suggestedPollIntervalMs: AGENT_JOBS_POLL_MS });
    }
    expect(readsOf('agent_jobs', succeeding) - reads).toBeLessThanOrEqual(1);
    const get = wire.find((e) => e.request.method === 'tasks/get' && e.request.params?.taskId === first.handle.taskId)!;
    expect(get.headers['mcp-name']).toBe(first.handle.taskId);
    expect(get.headers['mcp-method']).toBe('tasks/get');

    t.clock.advance(2 * 60_000); // both jobs end (one COMPLETED, one FAILED)
    await timers.advance(2 * AGENT_JOBS_POLL_MS); // a read is due again: the next tasks/get sees the end
    const [ok, failed] = await Promise.all([first.settle(), second.settle()]);

    expect(ok.outcome.status, explain(ok.outcome, wire)).toBe('completed');
    expect(ok.lastTask?.status).toBe('completed');
    const okResult = expectMatchesOutputSchema('get_job_status', resultFromTaskOutcome(ok.outcome) as ToolResult);
    expect(okResult.isError).toBeFalsy();
    expect(okResult.structuredContent).toMatchObject({ status: 'succeeded', changed: true, terminal: true });
    expect(typeof okResult.structuredContent!.waited_seconds).toBe('number');
    // A job that failed is an observation: the task completed, and its result says failed.
    expect(failed.outcome.status, explain(failed.outcome, wire)).toBe('completed');
    const failedResult = expectMatchesOutputSchema('get_job_status', resultFromTaskOutcome(failed.outcome) as ToolResult);
    expect(failedResult.isError).toBeFalsy();
    expect(failedResult.structuredContent).toMatchObject({ status: 'failed', changed: true, terminal: true });

    // The last tasks/get inlined the result.
    const done = wire.findLast((e) => e.request.method === 'tasks/get' && e.request.params?.taskId === first.handle.taskId)!;
    expect(done.response).toMatchObject({
      kind: 'result',
      result: { resultType: 'complete', taskId: first.handle.taskId, status: 'completed' },
    });
    expect((done.response as unknown as { result: { result: ToolResult } }).result.result.structuredContent).toEqual(
      okResult.structuredContent,
    );
  });

  it('runs a confirming cancel_job as a task that completes with outcome cancelled', async () => {
    const job = runtime().addJob({ status: 'working', runsForMs: null });
    const { session, wire } = await requester();
    const execution = await session.callTool('cancel_job', { project_reference: 'site-x', job_id: job, wait_seconds: 30 });
    expect(execution.kind, 'a cancel accepted but not yet confirmed, with wait_seconds, is a task').toBe('task');
    if (execution.kind !== 'task') return;
    // The cancel reached the runtime once, before the task was made; the stop takes 5 s of its clock.
    expect(runtime().job(job)?.cancelRequestedAt).toBeDefined();
    expect((await session.task(execution.handle.taskId).snapshot()).status).toBe('working');

    t.clock.advance(10_000);
    await timers.advance(2 * PROJECT_RUNTIME_POLL_MS);
    const { outcome } = await execution.settle();
    expect(outcome.status, explain(outcome, wire)).toBe('completed');
    const result = expectMatchesOutputSchema('cancel_job', resultFromTaskOutcome(outcome) as ToolResult);
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ outcome: 'cancelled', status_after: 'cancelled', terminal: true });
  });

  it('cancels a task: the task ends cancelled and the backend job goes on running', async () => {
    const job = agents().addJob({ status: 'RUNNING', runsForMs: null });
    const { session, wire } = await requester();
    const execution = await waitAsTask(session, 'agents', job);
    const taskId = execution.handle.taskId;

    await execution.cancel();
    expect((await execution.result()).status).toBe('cancelled');
    const cancel = wire.find((e) => e.request.method === 'tasks/cancel')!;
    expect(cancel.headers['mcp-name']).toBe(taskId);
    expect(cancel.response).toMatchObject({ kind: 'result', result: { resultType: 'complete' } });
    expect((await session.task(taskId).snapshot()).status).toBe('cancelled');
    // Cancelling a task that has ended is acknowledged the same way.
    await session.task(taskId).cancel();
    expect(wire.filter((e) => e.request.method === 'tasks/cancel').map((e) => e.response.kind)).toEqual(['result', 'result']);

    // The gateway stopped watching; the job itself was never asked to stop.
    expect(agents().job(job)?.cancelRequests).toBe(0);
    const after = await (
      await t.modernClient()
    ).callTool({ name: 'get_job_status', arguments: { project_reference: 'agents', job_id: job } });
    expect(after.structuredContent).toMatchObject({ status: 'running', terminal: false });
  });

  it("answers another caller's task id, and an unknown one, as not found (-32602)", async () => {
    const job = agents().addJob({ status: 'RUNNING', runsForMs: null });
    const owner = await requester();
    const execution = await waitAsTask(owner.session, 'agents', job);
    const taskId = execution.handle.taskId;

    const other = await requester(await t.mint({ subject: 'another-user' }));
    expect(await rpcErrorCode(other.session.task(taskId).snapshot())).toBe(-32602);
    expect(await rpcErrorCode(other.session.task(taskId).cancel())).toBe(-32602);
    expect(await rpcErrorCode(owner.session.task(toTaskId('no-such-task')).snapshot())).toBe(-32602);
    // The other caller's cancel changed nothing.
    expect((await owner.session.task(taskId).snapshot()).status).toBe('working');
    await execution.cancel();
  });

  it('answers the same waiting call inline to a 2026 client without ext-tasks and to a 2025 client', async () => {
    const job = agents().addJob({ status: 'RUNNING', runsForMs: null });
    const args = { project_reference: 'agents', job_id: job, wait_seconds: 0.5 };
    const deadlines = () => timers.pending().filter((ms) => ms === 500).length;
    const clients = [
      { era: '2026-07-28', call: async () => (await t.modernClient()).callTool({ name: 'get_job_status', arguments: args }) },
      { era: '2025-11-25', call: async () => (await t.client()).callTool({ name: 'get_job_status', arguments: args }) },
    ];
    for (const { era, call } of clients) {
      const before = deadlines();
      const waiting = call();
      await until(`the ${era} wait to start`, () => deadlines() > before);
      await timers.advance(500);
      const result = (await waiting) as ToolResult & { resultType?: string };
      expect(result.resultType, era).not.toBe('task');
      expect(result.isError, era).toBeFalsy();
      expect(result.structuredContent, era).toMatchObject({ status: 'running', changed: false, waited_seconds: 0.5 });
    }
  });

  it('refuses tasks/get from a request that does not declare the extension (-32021)', async () => {
    const job = agents().addJob({ status: 'RUNNING', runsForMs: null });
    const { session } = await requester();
    const execution = await waitAsTask(session, 'agents', job);
    const taskId = execution.handle.taskId;
    const get = (capabilities: Record<string, unknown>) =>
      post(
        t.mcpUrl,
        t.token,
        {
          jsonrpc: '2.0',
          id: 1,
          method: 'tasks/get',
          params: {
            taskId,
            _meta: { [PROTOCOL_VERSION_META]: PROTOCOL_VERSION, [CLIENT_INFO_META]: CLIENT_INFO, [CLIENT_CAPABILITIES_META]: capabilities },
          },
        },
        { 'mcp-name': taskId },
      );
    const refused = await get({});
    expect(refused.response, JSON.stringify(refused)).toMatchObject({ kind: 'error', error: { code: -32021 } });
    // The same request declaring it is answered: the declaration is the difference.
    const answered = await get({ extensions: { [TASKS]: {} } });
    expect(answered.response, JSON.stringify(answered)).toMatchObject({
      kind: 'result',
      result: { resultType: 'complete', taskId, status: 'working' },
    });
    await execution.cancel();
  });

  it('runs the TypeScript example of docs/tasks.md as written: it type-checks, and prints what the page says', async () => {
    const doc = 'docs/tasks.md';
    // Inside the repository, so that its imports resolve to the project's node_modules.
    const dir = mkdtempSync(join(process.cwd(), '.tasks-example-'));
    try {
      writeFileSync(join(dir, 'example.ts'), fencedBlock(doc, /^### TypeScript: /, '```ts'));
      // It type-checks under the project's own strict settings.
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ extends: '../tsconfig.json', include: ['example.ts'] }));
      const tsc = await promisify(execFile)(process.execPath, [join('node_modules', 'typescript', 'bin', 'tsc'), '-p', dir]).catch(
        (e: Error & { stdout?: string }) => ({ stdout: `tsc failed: ${e.stdout ?? e.message}` }),
      );
      expect(tsc.stdout).toBe('');

      const job = agents().addJob({ status: 'WAITING', startsInMs: 60_000 });
      const created = async () =>
        /tool="get_job_status",event="created"} (\d+)/.exec(
          await t.gateway.metrics.registry.getSingleMetricAsString('mcp_job_gateway_tasks_total'),
        )?.[1];
      const before = await created();
      const example = runExample(process.execPath, [join(dir, 'example.ts')], { MCP_URL: t.mcpUrl, MCP_TOKEN: t.token!, JOB_ID: job });
      try {
        // Once the example holds its task, the job starts, and the gateway's next look is due.
        await until('the example to hold its task', async () => (await created()) !== before || example.ended());
        t.clock.advance(2 * 60_000);
        await timers.advance(2 * AGENT_JOBS_POLL_MS);
        expect(await example.exited, example.stderr()).toBe(0);
      } finally {
        example.kill();
      }
      expect(example.stdout()).toBe(fencedBlock(doc, /^<!-- typescript tasks example output -->$/, '```'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
