// MCP tasks over backend jobs. A client that declares the Tasks extension and asks for a wait
// (get_job_status or cancel_job with wait_seconds) gets a task at once instead of a request held
// open; its tasks/get looks at the job (at most once per interval per replica: the wait hub's
// looks) and, once the wait is over, the task completes with exactly the result the waiting call
// would have given. Everything a task needs is in the state store, so any replica answers any poll.
//
// A task is its creator's alone: another caller, or its creator once it may no longer use the
// project, finds nothing (the same -32602 as an unknown id). tasks/cancel stops the watching, never
// the job: cancelling a job is cancel_job's work, with its own scope and audit.
import { randomBytes } from 'node:crypto';
import type { CallToolResult } from '@modelcontextprotocol/server';
import { callerKey, type Caller } from '../../jobs/caller.ts';
import type { JobService } from '../../jobs/job-service.ts';
import type { ToolName } from '../tools/job-tools.ts';
import { toolResult, tooManyTasks } from '../tools/results.ts';
import { waitingMessage, type CallStart, type ToolCallContext, type ToolDispatcher } from '../dispatch.ts';
import type { TaskEnd, TaskRecord, TaskStore } from './task-store.ts';
import { notAwaitingInput, taskNotFound, type CreateTaskResult, type GetTaskResult } from './wire.ts';

export interface TaskSettings {
  /** waits.task_max_seconds: the longest wait a task keeps. */
  maxSeconds: number;
  /** waits.task_keep_seconds: how long an answer stays readable after the wait's deadline. */
  keepSeconds: number;
  /** waits.max_tasks_per_caller: live tasks one caller may hold, across replicas. */
  maxPerCaller: number;
}

/** One thing that happened to a task, for metrics and logs. */
export interface TaskEvent {
  event: 'created' | 'completed' | 'cancelled';
  tool: ToolName;
  caller: Caller | undefined;
  requestId: string | undefined;
  /** completed: the result's status, cancel outcome or error code, as the tool-call metric words it. */
  result?: CallToolResult | undefined;
}

export interface TaskServiceDeps {
  dispatcher: ToolDispatcher;
  service: JobService;
  store: TaskStore;
  /** Whether a task written now is one every replica can resolve (a Redis store that is down: no). */
  storeShares: () => boolean;
  now: () => number;
  settings: TaskSettings;
  onEvent?: ((event: TaskEvent) => void) | undefined;
  /** Makes a task id (default: 32 random bytes, base64url). */
  newTaskId?: () => string;
}

/** Who asks, for tasks/get and tasks/cancel. */
export interface TaskRequestContext {
  caller: Caller | undefined;
  requestId: string | undefined;
  signal: AbortSignal;
}

export interface TaskService {
  /** tools/call from a client that declared the extension: a task for a wait, else the call's own answer. */
  call(name: string, args: unknown, context: ToolCallContext): Promise<CallToolResult | CreateTaskResult>;
  /** tasks/get; throws the -32602 error for a task its caller cannot see. */
  get(taskId: string, context: TaskRequestContext): Promise<GetTaskResult>;
  /** tasks/cancel: ends the task (not the job); throws -32602 as get does. Ending an ended task changes nothing. */
  cancel(taskId: string, context: TaskRequestContext): Promise<void>;
  /** tasks/update: no task of the gateway asks for input; throws -32602 as get does, else says so. */
  update(taskId: string, context: TaskRequestContext): Promise<never>;
}

/** What a cancelled task says. */
export const CANCELLED_MESSAGE =
  'Cancelled: the gateway stopped watching the job. The job itself was not cancelled (cancel_job does that).';

export function createTaskService(deps: TaskServiceDeps): TaskService {
  const { store, settings } = deps;
  const newTaskId = deps.newTaskId ?? (() => randomBytes(32).toString('base64url'));
  const iso = (ms: number) => new Date(ms).toISOString();

  /** The task, when its caller may see it: theirs, alive, and on a project they may still use. */
  async function visible(taskId: string, caller: Caller | undefined): Promise<TaskRecord> {
    const record = await store.record(taskId);
    if (
      !record ||
      record.owner !== callerKey(caller) ||
      deps.now() > record.createdAt + record.ttlMs ||
      !deps.service.mayWatch(record.watch, caller)
    )
      throw taskNotFound();
    return record;
  }

  function answer(taskId: string, record: TaskRecord, end: TaskEnd | undefined, statusMessage: string | undefined): GetTaskResult {
    const message = end?.status === 'cancelled' ? CANCELLED_MESSAGE : statusMessage;
    return {
      resultType: 'complete',
      taskId,
      status: end?.status ?? 'working',
      ...(message !== undefined ? { statusMessage: message } : {}),
      createdAt: iso(record.createdAt),
      lastUpdatedAt: iso(end?.at ?? record.createdAt),
      ttlMs: record.ttlMs,
      pollIntervalMs: record.pollIntervalMs,
      ...(end?.result ? { result: end.result } : {}),
    };
  }

  const event = (e: TaskEvent) => deps.onEvent?.(e);

  return {
    async call(name, args, context) {
      // Only a wait may become a task. A task must resolve on every replica: while the shared store
      // is away, the call waits as a plain one.
      const asked = deps.dispatcher.waitAsked(name, args);
      if (asked <= 0 || !deps.storeShares()) return deps.dispatcher.call(name, args, context);
      // The caller's live tasks are bounded before anything is read or cancelled.
      const owner = callerKey(context.caller);
      const taskId = newTaskId();
      const now = deps.now();
      const admitted = await store.admit(
        owner,
        taskId,
        now + (Math.min(asked, settings.maxSeconds) + settings.keepSeconds) * 1000,
        settings.maxPerCaller,
      );
      if (!admitted.added) return tooManyTasks(Math.max(1, Math.ceil((admitted.freesAt - now) / 1000)), settings.maxPerCaller);
      let start: CallStart;
      try {
        start = await deps.dispatcher.start(name, args, context, settings.maxSeconds);
      } catch (e) {
        await store.release(owner, taskId);
        throw e;
      }
      if (!start.watch) {
        await store.release(owner, taskId);
        return start.result;
      }
      const createdAt = start.watch.startedAt;
      const ttlMs = (start.watch.seconds + settings.keepSeconds) * 1000;
      await store.create(taskId, { owner, watch: start.watch, createdAt, ttlMs, pollIntervalMs: start.pollIntervalMs });
      event({ event: 'created', tool: start.tool, caller: context.caller, requestId: context.requestId });
      return {
        resultType: 'task',
        taskId,
        status: 'working',
        statusMessage: waitingMessage(start.report),
        createdAt: iso(createdAt),
        lastUpdatedAt: iso(createdAt),
        ttlMs,
        pollIntervalMs: start.pollIntervalMs,
      };
    },
    async get(taskId, context) {
      const record = await visible(taskId, context.caller);
      const ended = await store.end(taskId);
      if (ended) return answer(taskId, record, ended, undefined);
      const now = deps.now();
      const look = await deps.service.lookAgain(record.watch, now, context);
      if ('gone' in look) throw taskNotFound();
      if ('pending' in look) return answer(taskId, record, undefined, waitingMessage(look.pending));
      // Plain data: the stored result is the one every later poll, on any replica, answers. It is the
      // waiting call's result as that call carries it in 2026-07-28, resultType included (clients
      // validate the inlined result as one: ext-tasks refuses it without).
      const { content, structuredContent, isError } = toolResult(look.done);
      const result: CallToolResult = { content, structuredContent, ...(isError ? { isError } : {}), resultType: 'complete' };
      const mine: TaskEnd = { status: 'completed', at: now, result };
      const end = await store.claimEnd(taskId, mine);
      if (end === mine) await store.release(record.owner, taskId);
      if (end === mine)
        event({ event: 'completed', tool: record.watch.tool, caller: context.caller, requestId: context.requestId, result: end.result });
      return answer(taskId, record, end, undefined);
    },
    async cancel(taskId, context) {
      const record = await visible(taskId, context.caller);
      const now = deps.now();
      const mine: TaskEnd = { status: 'cancelled', at: now };
      if ((await store.claimEnd(taskId, mine)) !== mine) return;
      await store.release(record.owner, taskId);
      event({ event: 'cancelled', tool: record.watch.tool, caller: context.caller, requestId: context.requestId });
    },
    async update(taskId, context) {
      await visible(taskId, context.caller);
      throw notAwaitingInput();
    },
  };
}
