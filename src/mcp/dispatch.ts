// What a tools/call does, whichever path it arrives by (the SDK's handler or the lean path in
// lean-path.ts): the caller's budget (what the tool declares), the tool itself, and the event
// for metrics, logs and audit. One function for both paths, so the two can never answer differently.
import type { CallToolResult, Tool } from '@modelcontextprotocol/server';
import type { JobGlimpse, JobService, JobWatch } from '../jobs/job-service.ts';
import { callerKey, type Caller } from '../jobs/caller.ts';
import type { CallerRateLimit } from './caller-rate-limit.ts';
import type { WaitHeartbeat } from '../jobs/waits.ts';
import type { ToolPolicy } from './policy.ts';
import { JOB_TOOLS, jobTool, type ToolName } from './tools/job-tools.ts';
import type { ToolLimits } from './tools/job-tool.ts';
import { rateLimited, toolResult } from './tools/results.ts';

/** Sends a progress notification on the request's own response stream (only for a client that sent a progress token). */
export type ProgressSender = (update: { progress: number; total?: number; message?: string }) => Promise<void>;

/** A tool served beside the job tools (the conformance suite's fixtures); it declares its policy as they do. */
export interface ExtraTool extends ToolPolicy {
  definition: Tool;
  handler(args: Record<string, unknown> | undefined, signal: AbortSignal, progress: ProgressSender | undefined): Promise<CallToolResult>;
}

/** One answered call of a job tool, for metrics, logs and audit. */
export interface ToolCallEvent {
  tool: ToolName;
  arguments: Record<string, unknown> | undefined;
  result: CallToolResult;
  seconds: number;
  caller: Caller | undefined;
  requestId: string | undefined;
}

export interface DispatcherDeps {
  service: JobService;
  /** The settings the tools' definitions state (waits.max_seconds). */
  limits: ToolLimits;
  extraTools?: readonly ExtraTool[] | undefined;
  onToolCall?: ((event: ToolCallEvent) => void) | undefined;
  /** Per-caller budget of tool calls. */
  rateLimit?: CallerRateLimit | undefined;
}

export interface ToolCallContext {
  signal: AbortSignal;
  /** Present when the client asked for progress (a progress token), on either path. */
  progress?: ProgressSender | undefined;
  caller: Caller | undefined;
  requestId: string | undefined;
}

/** How a call that may become a task starts: its result when it is answered at once, else the watch a task keeps. */
export type CallStart =
  { result: CallToolResult; watch?: undefined } | { watch: JobWatch; tool: ToolName; report: JobGlimpse; pollIntervalMs: number };

export interface ToolDispatcher {
  /** Every tool, in a fixed order (the job tools first). */
  readonly tools: readonly Tool[];
  /** The policy (scope and budget) of a tool this gateway serves; undefined for any other name. */
  policyOf(name: string): ToolPolicy | undefined;
  /** Whether `name` is a tool this gateway serves. */
  has(name: string): boolean;
  /**
   * Takes points from the caller's budget (the one budget of tool calls): 0 when granted, else the
   * whole seconds to wait. The endpoint charges every message that is not a call of one of our tools
   * through it; call() charges a tool's own.
   */
  charge(caller: Caller | undefined, points: number): number | Promise<number>;
  /** Runs a tool this gateway serves (check with has() first). Never throws for a tool error. */
  call(name: string, args: unknown, context: ToolCallContext): Promise<CallToolResult>;
  /**
   * call() for a client that takes MCP tasks: a call that asks for a wait (get_job_status or
   * cancel_job with wait_seconds) starts as a watch, its wait bounded by `maxSeconds`, unless its
   * answer is known at once; any other call is answered as call() answers it.
   */
  start(name: string, args: unknown, context: ToolCallContext, maxSeconds: number): Promise<CallStart>;
  /** The seconds a call asks to wait (wait_seconds of get_job_status or cancel_job); 0 for any other call. */
  waitAsked(name: string, args: unknown): number;
}

export function createToolDispatcher(deps: DispatcherDeps): ToolDispatcher {
  const extras = deps.extraTools ?? [];
  const extra = new Map(extras.map((t) => [t.definition.name, t]));
  const tools = [...JOB_TOOLS.map((t) => t.define(deps.limits)), ...extras.map((t) => t.definition)];
  const policies = new Map<string, ToolPolicy>([
    ...extras.map((t) => [t.definition.name, t] as const),
    ...JOB_TOOLS.map((t) => [t.name, t] as const),
  ]);
  /** Takes points from the caller's budget: 0 when granted (or there is no budget), else the seconds to wait. */
  const charge = (caller: Caller | undefined, points: number): number | Promise<number> =>
    points > 0 && deps.rateLimit ? deps.rateLimit.take(callerKey(caller), points) : 0;
  /** Takes what the tool declares from the caller's budget. */
  const spend = (policy: ToolPolicy, caller: Caller | undefined) => charge(caller, policy.budget);
  return {
    tools,
    charge,
    policyOf: (name) => policies.get(name),
    has: (name) => policies.has(name),
    async call(name, args, context) {
      const started = await run(name, args, context, undefined);
      if (started.watch) throw new Error('a call without maxSeconds never starts a watch');
      return started.result;
    },
    start: (name, args, context, maxSeconds) => run(name, args, context, maxSeconds),
    waitAsked: (name, args) => jobTool(name)?.waitAsked?.(args) ?? 0,
  };

  /** Runs a tool: as a watch when `maxSeconds` is given and the call waits, else to its answer. */
  async function run(name: string, args: unknown, context: ToolCallContext, maxSeconds: number | undefined): Promise<CallStart> {
    const tool = jobTool(name);
    if (!tool) {
      const fixture = extra.get(name);
      if (!fixture) throw new Error(`not a tool of this gateway: ${name}`);
      const wait = await spend(fixture, context.caller);
      if (wait > 0) return { result: rateLimited(wait) };
      return { result: await fixture.handler(isRecord(args) ? args : undefined, context.signal, context.progress) };
    }
    const started = performance.now();
    const caller = context.caller;
    const wait = await spend(tool, caller);
    const onHeartbeat = context.progress ? heartbeatSender(context.progress) : undefined;
    // The budget is taken once per call: a call that waits a minute costs what an instant one does.
    // A backend that asks several hosts for the call charges the hosts beyond the first through
    // `charge` (a ComfyUI project's fan-out), so the caller's budget bounds its backend requests.
    const charges = deps.rateLimit ? { charge: (points: number) => charge(caller, points) } : {};
    const serviceContext = { signal: context.signal, caller, requestId: context.requestId, onHeartbeat, ...charges };
    if (wait > 0) return recorded(tool.name, args, rateLimited(wait), started, context);
    const watching = maxSeconds === undefined ? undefined : tool.startWatch?.(deps.service, args, maxSeconds, serviceContext);
    if (!watching) return recorded(tool.name, args, toolResult(await tool.run(deps.service, args, serviceContext)), started, context);
    // A watch's first step (the read, or the cancel the backend accepted) is what this call is recorded with.
    const begun = await watching;
    const first = recorded(tool.name, args, toolResult(begun.reply), started, context);
    return begun.watch ? { watch: begun.watch, tool: tool.name, report: begun.report, pollIntervalMs: begun.pollIntervalMs } : first;
  }

  /** Records one answered call (metrics, logs, audit) and returns its result. */
  function recorded(
    tool: ToolName,
    args: unknown,
    result: CallToolResult,
    started: number,
    context: ToolCallContext,
  ): { result: CallToolResult } {
    deps.onToolCall?.({
      tool,
      arguments: isRecord(args) ? args : undefined,
      result,
      seconds: (performance.now() - started) / 1000,
      caller: context.caller,
      requestId: context.requestId,
    });
    return { result };
  }
}

/** What a wait says of a job while it waits (a heartbeat's message, a task's statusMessage): its status and queue position. */
export function waitingMessage(report: JobGlimpse | undefined): string {
  if (!report) return 'Waiting: reading the job.';
  const where = report.queue_position !== undefined ? `, queue position ${report.queue_position}` : '';
  return `Waiting: status ${report.status}${where}.`;
}

/** A wait's heartbeat as a progress notification: seconds waited of the wait, the status and queue position in words. */
function heartbeatSender(progress: ProgressSender): (beat: WaitHeartbeat) => void {
  return ({ report, waitedSeconds, totalSeconds }) => {
    // A notification that cannot be sent (the client went away) ends nothing: the abort signal does that.
    progress({ progress: waitedSeconds, total: totalSeconds, message: waitingMessage(report) }).catch(() => {});
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
