// The task service on its own: while the shared store is away, a waiting call is answered as a
// plain one (a task must resolve on every replica, so none is made that only this one knows); and a
// task's end is claimed once, so a cancel after the completion leaves the completed result.
import { describe, expect, it } from 'vitest';
import type { CallToolResult } from '@modelcontextprotocol/server';
import { createMemoryStore } from '../../src/state/memory-store.ts';
import { createTaskService } from '../../src/mcp/tasks/task-service.ts';
import { createTaskStore } from '../../src/mcp/tasks/task-store.ts';
import type { CallStart, ToolDispatcher } from '../../src/mcp/dispatch.ts';
import type { JobService, JobWatch, WatchLook } from '../../src/jobs/job-service.ts';

const watch: JobWatch = { tool: 'get_job_status', project_reference: 'p', job_id: 'j', baseline: 'running', startedAt: 0, seconds: 60 };
const inline: CallToolResult = { content: [{ type: 'text', text: '{}' }], structuredContent: { status: 'running', changed: false } };

function rig(options: { shares: boolean; look?: WatchLook; maxPerCaller?: number }) {
  const calls: string[] = [];
  const dispatcher = {
    waitAsked: (_name: string, args: { wait_seconds?: number }) => args.wait_seconds ?? 0,
    call: async () => (calls.push('call'), inline),
    start: async (): Promise<CallStart> => (
      calls.push('start'),
      { watch, tool: 'get_job_status', report: { status: 'running' }, pollIntervalMs: 1000 }
    ),
  } as unknown as ToolDispatcher;
  const service = {
    mayWatch: () => true,
    lookAgain: async () => options.look ?? { done: { ok: true, value: { status: 'succeeded', changed: true } } },
  } as unknown as JobService;
  let now = 0;
  const store = createTaskStore(createMemoryStore(), { now: () => now, maxTasks: 100, maxAgeMs: 3_600_000 });
  const tasks = createTaskService({
    dispatcher,
    service,
    store,
    storeShares: () => options.shares,
    now: () => now,
    settings: { maxSeconds: 3600, keepSeconds: 600, maxPerCaller: options.maxPerCaller ?? 10 },
  });
  return { tasks, calls, tick: (ms: number) => (now += ms) };
}

const context = { signal: new AbortController().signal, caller: undefined, requestId: undefined };

describe('the task service', () => {
  it('answers a waiting call as a plain one while the shared store is away', async () => {
    const { tasks, calls } = rig({ shares: false });
    expect(await tasks.call('get_job_status', { wait_seconds: 30 }, context)).toBe(inline);
    expect(calls).toEqual(['call']);
  });

  it('keeps the first end: a cancel after the completion leaves the completed result', async () => {
    const { tasks, tick } = rig({ shares: true });
    const created = (await tasks.call('get_job_status', { wait_seconds: 30 }, context)) as { taskId: string };
    tick(1000);
    const done = await tasks.get(created.taskId, context);
    expect(done).toMatchObject({ status: 'completed', result: { structuredContent: { status: 'succeeded' } } });
    tick(1000);
    await tasks.cancel(created.taskId, context);
    expect(await tasks.get(created.taskId, context)).toEqual(done);
  });

  it("bounds a caller's live tasks before anything is read or cancelled, and frees a slot when one ends", async () => {
    const { tasks, calls, tick } = rig({ shares: true, maxPerCaller: 2 });
    const first = (await tasks.call('get_job_status', { wait_seconds: 30 }, context)) as { taskId: string };
    await tasks.call('get_job_status', { wait_seconds: 30 }, context);
    const refused = (await tasks.call('get_job_status', { wait_seconds: 30 }, context)) as CallToolResult;
    expect(refused).toMatchObject({ isError: true, structuredContent: { error: { code: 'RATE_LIMITED', retry_after_seconds: 630 } } });
    expect(calls).toEqual(['start', 'start']); // the third started nothing
    // A call that does not wait is no task: it is answered whatever the caller holds.
    expect(await tasks.call('get_job_status', {}, context)).toBe(inline);
    await tasks.cancel(first.taskId, context);
    tick(1);
    expect(await tasks.call('get_job_status', { wait_seconds: 30 }, context)).toMatchObject({ resultType: 'task' });
    // Once their time passed, ended or not, tasks no longer count.
    tick(631_000);
    expect(await tasks.call('get_job_status', { wait_seconds: 30 }, context)).toMatchObject({ resultType: 'task' });
    expect(await tasks.call('get_job_status', { wait_seconds: 30 }, context)).toMatchObject({ resultType: 'task' });
  });
});
