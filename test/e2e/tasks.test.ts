// MCP tasks on the wire (the Tasks extension, 2026-07-28), with raw JSON-RPC so that every field,
// header and error code the extension names is checked as sent: negotiation, a waiting
// get_job_status and a confirmed cancel_job as tasks polled to completion, tasks/cancel, another
// caller's task, a task on a project its caller lost, the missing Mcp-Name of fastmcp, and how
// often the backend is read however fast tasks are polled. The gateway's clock is manual (its
// looks, deadlines and waited_seconds), and so is the sandbox's (the jobs' progress): no assertion
// depends on the machine's speed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fastWaits, seed, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { ManualTimers } from '../helpers/manual-timers.ts';
import { until } from '../helpers/until.ts';
import { fencedBlock } from '../helpers/doc-examples.ts';
import type { Simulation } from '../../src/simulation/simulation.ts';
import { modernRpc, TASKS_EXTENSION, type RpcOptions } from '../helpers/modern-rpc.ts';

let t: TestGateway;
const timers = new ManualTimers();

beforeAll(async () => {
  t = await startTestGateway({
    configure: (c) => ({ ...c, waits: { ...fastWaits(2), task_max_seconds: 3600, task_keep_seconds: 600 } }),
    deps: { clock: timers },
  });
});
afterAll(async () => t?.close());

const sim = (kind: Simulation['kind']) => t.sandbox.simulations.find((s) => s.kind === kind)!;
const readsOf = (kind: Simulation['kind'], jobId: string) =>
  sim(kind).server.requests.filter((r) => r.method === 'GET' && r.path.includes(jobId)).length;

const rpc = (method: string, params: Record<string, unknown>, options: RpcOptions = {}) =>
  modernRpc(t.mcpUrl, method, params, { token: t.token, ...options });
const call = (name: string, args: Record<string, unknown>, options?: RpcOptions) => rpc('tools/call', { name, arguments: args }, options);
const getTask = (taskId: string, options?: RpcOptions) => rpc('tasks/get', { taskId }, options);

describe('MCP tasks over backend jobs', () => {
  it('advertises the extension in server/discover', async () => {
    const { result } = await rpc('server/discover', {});
    expect(result?.capabilities?.extensions?.[TASKS_EXTENSION]).toEqual({});
  });

  // First: the simulations' clock has not moved yet, so the runtime's seeded job is still running.
  it('confirms a cancel as a task: created once the backend accepted it, completed when the job stopped', async () => {
    const job = seed(t, 'site-x', 'running');
    const created = await call('cancel_job', { project_reference: 'site-x', job_id: job, wait_seconds: 120, reason: 'tasks test' });
    expect(created.result).toMatchObject({ resultType: 'task', status: 'working', pollIntervalMs: 50 });
    const { taskId } = created.result!;
    // The cancel was sent before the task existed.
    expect(sim('project_runtime').server.requests.filter((r) => r.method === 'POST' && r.path.includes(job))).toHaveLength(1);
    await timers.advance(50);
    expect((await getTask(taskId)).result).toMatchObject({ status: 'working' });
    t.clock.advance(10_000); // the simulated runtime stops a signalled job after 5 s
    await timers.advance(50);
    const done = (await getTask(taskId)).result!;
    expect(done).toMatchObject({ status: 'completed' });
    expect(done.result.structuredContent).toMatchObject({ outcome: 'cancelled', status_after: 'cancelled', terminal: true });
  });

  it('answers a waiting get_job_status with a task at once, and completes it with the result the waiting call would give', async () => {
    const job = seed(t, 'agents', 'queued');
    const started = timers.now();
    const created = await call('get_job_status', { project_reference: 'agents', job_id: job, wait_seconds: 1800 });
    expect(created.status).toBe(200);
    const task = created.result!;
    expect(task).toMatchObject({
      resultType: 'task',
      status: 'working',
      statusMessage: 'Waiting: status queued.',
      createdAt: new Date(started).toISOString(),
      lastUpdatedAt: new Date(started).toISOString(),
      ttlMs: (1800 + 600) * 1000, // the wait, and the time its answer is kept
      pollIntervalMs: 100, // the project's kind's poll interval
    });
    expect(task.taskId).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(task).not.toHaveProperty('task'); // flat, no nested object

    // While the job is queued, the task is working, with the job's status in its message.
    await timers.advance(100);
    expect((await getTask(task.taskId)).result).toMatchObject({
      resultType: 'complete',
      status: 'working',
      statusMessage: 'Waiting: status queued.',
    });

    t.clock.advance(6 * 60_000); // the simulation starts the job after 5 minutes
    await timers.advance(100);
    const done = (await getTask(task.taskId)).result!;
    expect(done).toMatchObject({ status: 'completed', taskId: task.taskId, lastUpdatedAt: new Date(started + 200).toISOString() });
    expect(done.result.structuredContent).toMatchObject({ status: 'running', changed: true, terminal: false, waited_seconds: 0.2 });
    expect(done.result.isError).toBeUndefined();
    expect(JSON.parse(done.result.content[0].text)).toEqual(done.result.structuredContent);

    // A finished task answers the same on every poll, however the job goes on.
    t.clock.advance(60 * 60_000);
    await timers.advance(1000);
    expect((await getTask(task.taskId)).result).toEqual(done);
  });

  it('sends no progress notification for a task, even to a client that sent a progress token', async () => {
    const job = seed(t, 'agents', 'long_running');
    const created = await call(
      'get_job_status',
      { project_reference: 'agents', job_id: job, wait_seconds: 1800 },
      { meta: { progressToken: 'p-1' } },
    );
    expect(created.result).toMatchObject({ resultType: 'task' });
    expect(created.contentType).toMatch(/^application\/json/);
    expect(created.before).toEqual([]);
  });

  it('answers inline what is known at once: no wait, a terminal job, a status other than known_status', async () => {
    const plain = await call('get_job_status', { project_reference: 'agents', job_id: seed(t, 'agents', 'long_running') });
    expect(plain.result).toMatchObject({ structuredContent: { status: 'running' } });
    expect(plain.result).not.toHaveProperty('taskId');
    const terminal = await call('get_job_status', {
      project_reference: 'agents',
      job_id: seed(t, 'agents', 'succeeded'),
      wait_seconds: 60,
    });
    expect(terminal.result).toMatchObject({ structuredContent: { status: 'succeeded', changed: false, waited_seconds: 0 } });
    const other = await call('get_job_status', {
      project_reference: 'agents',
      job_id: seed(t, 'agents', 'long_running'),
      wait_seconds: 60,
      known_status: 'queued',
    });
    expect(other.result).toMatchObject({ structuredContent: { status: 'running', changed: true, waited_seconds: 0 } });
  });

  it('answers a 2026 client that does not declare the extension inline, waiting as today', async () => {
    const job = seed(t, 'agents', 'long_running');
    const timersBefore = timers.pending().length;
    const waiting = call('get_job_status', { project_reference: 'agents', job_id: job, wait_seconds: 0.5 }, { declare: false });
    // The wait holds the request: its deadline is a timer on the gateway's clock.
    await until('the call to wait', () => timers.pending().length > timersBefore);
    await timers.advance(500);
    const answered = await waiting;
    expect(answered.result).toMatchObject({ structuredContent: { status: 'running', changed: false, waited_seconds: 0.5 } });
    expect(answered.result).not.toHaveProperty('taskId');
  });

  it('ends a task on tasks/cancel without touching the job, and acknowledges a second cancel the same way', async () => {
    const job = seed(t, 'agents', 'long_running');
    const { taskId } = (await call('get_job_status', { project_reference: 'agents', job_id: job, wait_seconds: 1800 })).result!;
    const posts = sim('agent_jobs').server.requests.filter((r) => r.method === 'POST').length;
    const cancelled = await rpc('tasks/cancel', { taskId });
    expect(cancelled.status).toBe(200);
    expect(cancelled.result).toMatchObject({});
    expect(Object.keys(cancelled.result!).filter((k) => k !== '_meta' && k !== 'resultType')).toEqual([]);
    const after = (await getTask(taskId)).result!;
    expect(after).toMatchObject({ status: 'cancelled' });
    expect(after.statusMessage).toMatch(/job itself was not cancelled/);
    expect(after).not.toHaveProperty('result');
    expect((await rpc('tasks/cancel', { taskId })).result).toBeDefined();
    // The job runs on: no cancel reached the backend.
    expect(sim('agent_jobs').server.requests.filter((r) => r.method === 'POST').length).toBe(posts);
    const status = await call('get_job_status', { project_reference: 'agents', job_id: job });
    expect(status.result).toMatchObject({ structuredContent: { status: 'running' } });
  });

  it('shows a task to its creator alone: another caller, an unknown id and a caller who lost the project get the same -32602', async () => {
    const job = seed(t, 'agents', 'long_running');
    const { taskId } = (await call('get_job_status', { project_reference: 'agents', job_id: job, wait_seconds: 1800 })).result!;
    const other = await t.mint({ subject: 'someone-else' });
    const unknown = await getTask('A'.repeat(43));
    const foreign = await getTask(taskId, { token: other });
    const foreignCancel = await rpc('tasks/cancel', { taskId }, { token: other });
    // The same subject, no longer granted the project.
    const lost = await getTask(taskId, { token: await t.mint({ projects: ['site-x'] }) });
    for (const answer of [unknown, foreign, foreignCancel, lost]) {
      expect(answer.error).toEqual(unknown.error);
      expect(answer.error?.code).toBe(-32602);
    }
    expect((await getTask(taskId)).result).toMatchObject({ status: 'working' }); // still there for its creator
  });

  it("answers a 2025-era client inline even when it sends the extension's keys, and its tasks/get -32601", async () => {
    const legacy = async (method: string, params: Record<string, unknown>) => {
      const res = await fetch(t.mcpUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': '2025-11-25',
          authorization: `Bearer ${t.token}`,
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 7, method, params }),
      });
      const text = await res.text();
      return JSON.parse(
        text.startsWith('{')
          ? text
          : text
              .split('\n')
              .filter((l) => l.startsWith('data: '))
              .at(-1)!
              .slice(6),
      );
    };
    const meta = { 'io.modelcontextprotocol/clientCapabilities': { extensions: { [TASKS_EXTENSION]: {} } } };
    const job = seed(t, 'agents', 'long_running');
    const timersBefore = timers.pending().length;
    const waiting = legacy('tools/call', {
      name: 'get_job_status',
      arguments: { project_reference: 'agents', job_id: job, wait_seconds: 0.2 },
      _meta: meta,
    });
    await until('the call to wait', () => timers.pending().length > timersBefore);
    await timers.advance(200);
    const answered = await waiting;
    expect(answered.result).toMatchObject({ structuredContent: { status: 'running', changed: false, waited_seconds: 0.2 } });
    expect(answered.result).not.toHaveProperty('taskId');
    expect((await legacy('tasks/get', { taskId: 'A'.repeat(43), _meta: meta })).error).toMatchObject({ code: -32601 });
  });

  it('binds a task made with a machine token (no subject) to its client: another token of the client finds it, another client does not', async () => {
    const machine = (clientId: string) => t.mint({ clientId, claims: { sub: undefined } });
    const job = seed(t, 'agents', 'long_running');
    const { taskId } = (
      await call('get_job_status', { project_reference: 'agents', job_id: job, wait_seconds: 1800 }, { token: await machine('svc-a') })
    ).result!;
    expect((await getTask(taskId, { token: await machine('svc-a') })).result).toMatchObject({ status: 'working' });
    expect((await getTask(taskId, { token: await machine('svc-b') })).error?.code).toBe(-32602);
  });

  it('refuses tasks/* from a request that did not declare the extension with -32021', async () => {
    const answer = await getTask('A'.repeat(43), { declare: false });
    expect(answer.status).toBe(400);
    expect(answer.error).toMatchObject({ code: -32021, data: { requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } } } });
  });

  it('answers tasks/update -32602 (no task of the gateway waits for input), and tasks/result and tasks/list -32601', async () => {
    const job = seed(t, 'agents', 'long_running');
    const { taskId } = (await call('get_job_status', { project_reference: 'agents', job_id: job, wait_seconds: 1800 })).result!;
    expect((await rpc('tasks/update', { taskId, inputResponses: {} })).error).toMatchObject({ code: -32602 });
    const result = await rpc('tasks/result', { taskId });
    expect(result.error).toMatchObject({ code: -32601 });
    expect(result.status).toBe(404);
    expect((await rpc('tasks/list', {}, { name: null })).error).toMatchObject({ code: -32601 });
  });

  it('accepts a task request without Mcp-Name (fastmcp[tasks] 4.1.4), and still refuses one whose Mcp-Name differs', async () => {
    const job = seed(t, 'agents', 'long_running');
    const { taskId } = (await call('get_job_status', { project_reference: 'agents', job_id: job, wait_seconds: 1800 })).result!;
    expect((await getTask(taskId, { name: null })).result).toMatchObject({ status: 'working' });
    const mismatched = await getTask(taskId, { name: 'another-task' });
    expect(mismatched.status).toBe(400);
    expect(mismatched.error?.code).toBe(-32020);
  });

  it('reads the job at most once per poll interval however many tasks poll it, and however fast', async () => {
    const job = seed(t, 'agents', 'long_running');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push((await call('get_job_status', { project_reference: 'agents', job_id: job, wait_seconds: 1800 })).result!.taskId);
    const before = readsOf('agent_jobs', job);
    for (let round = 0; round < 3; round++) {
      // 5 tasks, each polled 4 times within one interval: one read.
      await timers.advance(100);
      const answers = await Promise.all(ids.flatMap((id) => [1, 2, 3, 4].map(() => getTask(id))));
      for (const a of answers) expect(a.result).toMatchObject({ status: 'working', statusMessage: 'Waiting: status running.' });
    }
    expect(readsOf('agent_jobs', job) - before).toBe(3);
  });

  it("completes a task at its wait's deadline with changed=false, as the waiting call would", async () => {
    const job = seed(t, 'agents', 'long_running');
    const { taskId } = (await call('get_job_status', { project_reference: 'agents', job_id: job, wait_seconds: 30 })).result!;
    await timers.advance(29_000);
    expect((await getTask(taskId)).result).toMatchObject({ status: 'working' });
    await timers.advance(5_000);
    const done = (await getTask(taskId)).result!;
    expect(done.result.structuredContent).toMatchObject({ status: 'running', changed: false, waited_seconds: 30 });
  });

  it('forgets a task after its ttl: not found', async () => {
    const job = seed(t, 'agents', 'long_running');
    const { taskId, ttlMs } = (await call('get_job_status', { project_reference: 'agents', job_id: job, wait_seconds: 10 })).result!;
    await timers.advance(ttlMs + 1);
    expect((await getTask(taskId)).error?.code).toBe(-32602);
  });

  it('counts tasks by tool and event, and measures their polls as MCP operations labelled by method', async () => {
    const metrics = await t.gateway.metrics.registry.metrics();
    const count = (labels: string) => Number(new RegExp(`^mcp_job_gateway_tasks_total\\{${labels}\\} (\\d+)`, 'm').exec(metrics)?.[1] ?? 0);
    expect(count('tool="get_job_status",event="created"')).toBeGreaterThanOrEqual(8);
    expect(count('tool="get_job_status",event="completed"')).toBeGreaterThanOrEqual(2);
    expect(count('tool="get_job_status",event="cancelled"')).toBe(1);
    expect(count('tool="cancel_job",event="created"')).toBe(1);
    expect(count('tool="cancel_job",event="completed"')).toBe(1);
    for (const method of ['tasks/get', 'tasks/cancel', 'tasks/update'])
      expect(metrics).toMatch(new RegExp(`mcp_server_operation_duration_seconds_count\\{mcp_method_name="${method.replace('/', '\\/')}"`));
  });
});

describe("a caller's live tasks", () => {
  it('are bounded by waits.max_tasks_per_caller: one more waiting call is RATE_LIMITED before the job is read; another caller is not held back', async () => {
    const clock = new ManualTimers();
    const g = await startTestGateway({
      configure: (c) => ({ ...c, waits: { ...fastWaits(2), max_tasks_per_caller: 2, task_keep_seconds: 600 } }),
      deps: { clock },
    });
    try {
      const wait = (job: string, token = g.token) =>
        modernRpc(
          g.mcpUrl,
          'tools/call',
          { name: 'get_job_status', arguments: { project_reference: 'agents', job_id: job, wait_seconds: 60 } },
          { token },
        );
      const reads = (job: string) =>
        g.sandbox.simulations.find((x) => x.kind === 'agent_jobs')!.server.requests.filter((r) => r.path.includes(job)).length;
      // Three waits on one job (the sandbox seeds one long-running agent job).
      const job = seed(g, 'agents', 'long_running');
      const first = (await wait(job)).result!;
      expect((await wait(job)).result).toMatchObject({ resultType: 'task' });
      // Past the poll interval: a call let through would read the job now.
      await clock.advance(100);
      const before = reads(job);
      const refused = (await wait(job)).result!;
      expect(refused).toMatchObject({ isError: true, structuredContent: { error: { code: 'RATE_LIMITED', retry_after_seconds: 660 } } });
      expect(reads(job)).toBe(before);
      expect((await wait(job, await g.mint({ subject: 'another-agent' }))).result).toMatchObject({ resultType: 'task' });
      expect(reads(job)).toBe(before + 1); // that one did read it
      // Cancelling a task frees its place.
      await modernRpc(g.mcpUrl, 'tasks/cancel', { taskId: first.taskId }, { token: g.token });
      expect((await wait(job)).result).toMatchObject({ resultType: 'task' });
    } finally {
      await g.close();
    }
  });
});

describe('docs/tasks.md', () => {
  it('shows the answers the gateway gives on the sandbox, the task id aside', async () => {
    const timers = new ManualTimers();
    const g = await startTestGateway({ deps: { clock: timers } });
    try {
      const rpcHere = (method: string, params: Record<string, unknown>) => modernRpc(g.mcpUrl, method, params, { token: g.token });
      const job = seed(g, 'agents', 'queued');
      const created = (
        await rpcHere('tools/call', { name: 'get_job_status', arguments: { project_reference: 'agents', job_id: job, wait_seconds: 3600 } })
      ).result!;
      await timers.advance(3000);
      const working = (await rpcHere('tasks/get', { taskId: created.taskId })).result!;
      g.clock.advance(6 * 60_000); // the simulation starts the job after 5 minutes
      await timers.advance(3000);
      const completed = (await rpcHere('tasks/get', { taskId: created.taskId })).result!;
      for (const [name, answer] of Object.entries({ created, working, completed })) {
        const documented = JSON.parse(fencedBlock('docs/tasks.md', new RegExp(`^<!-- tasks example: ${name} -->$`), '```json')) as object;
        const { _meta, ...shown } = answer;
        expect(_meta).toEqual({ 'io.modelcontextprotocol/serverInfo': { name: 'mcp-job-gateway', version: expect.any(String) } });
        expect({ ...shown, taskId: 'the id' }, name).toEqual({ ...documented, taskId: 'the id' });
      }
    } finally {
      await g.close();
    }
  });
});
