// What a tools/call does, whichever path it arrives by (the SDK's handler or the lean path in
// lean-path.ts): the caller's budget, the tool itself, and the event for metrics, logs and audit.
// One function for both paths, so the two can never answer differently.
import type { CallToolResult, Tool } from '@modelcontextprotocol/server';
import type { JobService } from '../jobs/job-service.ts';
import { callerKey, type Caller } from '../jobs/caller.ts';
import type { CallerRateLimit } from './caller-rate-limit.ts';
import type { WaitHeartbeat } from '../jobs/waits.ts';
import { TOOL_DEFINITIONS, callTool, createResultMaker, isToolName, type ToolName } from './tools.ts';

/** Sends a progress notification on the request's own response stream (only for a client that sent a progress token). */
export type ProgressSender = (update: { progress: number; total?: number; message?: string }) => Promise<void>;

/** A tool served beside the two job tools; used by the conformance profile's fixtures. */
export interface ExtraTool {
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
  extraTools?: readonly ExtraTool[] | undefined;
  onToolCall?: ((event: ToolCallEvent) => void) | undefined;
  /** Per-caller budget of tool calls. */
  rateLimit?: CallerRateLimit | undefined;
}

export interface ToolCallContext {
  signal: AbortSignal;
  /** Present when the client asked for progress (such calls take the SDK's path, which can stream). */
  progress?: ProgressSender | undefined;
  caller: Caller | undefined;
  requestId: string | undefined;
}

export interface ToolDispatcher {
  /** Every tool, in a fixed order (the job tools first). */
  readonly tools: readonly Tool[];
  /** Whether `name` is a tool this gateway serves. */
  has(name: string): boolean;
  /** Runs a tool this gateway serves (check with has() first). Never throws for a tool error. */
  call(name: string, args: unknown, context: ToolCallContext): Promise<CallToolResult>;
}

export function createToolDispatcher(deps: DispatcherDeps): ToolDispatcher {
  const extra = new Map((deps.extraTools ?? []).map((t) => [t.definition.name, t]));
  const tools = [...TOOL_DEFINITIONS, ...(deps.extraTools ?? []).map((t) => t.definition)];
  const toResult = createResultMaker();
  return {
    tools,
    has: (name) => isToolName(name) || extra.has(name),
    async call(name, args, context) {
      if (!isToolName(name)) {
        const fixture = extra.get(name);
        if (!fixture) throw new Error(`not a tool of this gateway: ${name}`);
        return fixture.handler(isRecord(args) ? args : undefined, context.signal, context.progress);
      }
      const started = performance.now();
      const caller = context.caller;
      const wait = deps.rateLimit ? await deps.rateLimit.take(callerKey(caller)) : 0;
      const onHeartbeat = context.progress ? heartbeatSender(context.progress) : undefined;
      // The budget is taken once per call: a call that waits a minute costs what an instant one does.
      const result =
        wait > 0
          ? rateLimited(wait)
          : await callTool(
              deps.service,
              name,
              args,
              { signal: context.signal, caller, requestId: context.requestId, onHeartbeat },
              toResult,
            );
      deps.onToolCall?.({
        tool: name,
        arguments: isRecord(args) ? args : undefined,
        result,
        seconds: (performance.now() - started) / 1000,
        caller,
        requestId: context.requestId,
      });
      return result;
    },
  };
}

/** A wait's heartbeat as a progress notification: seconds waited of the wait, the status and queue position in words. */
function heartbeatSender(progress: ProgressSender): (beat: WaitHeartbeat) => void {
  return ({ report, waitedSeconds, totalSeconds }) => {
    const where = report?.queue_position !== undefined ? `, queue position ${report.queue_position}` : '';
    const message = report ? `Waiting: status ${report.status}${where}.` : 'Waiting: reading the job.';
    // A notification that cannot be sent (the client went away) ends nothing: the abort signal does that.
    progress({ progress: waitedSeconds, total: totalSeconds, message }).catch(() => {});
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function rateLimited(seconds: number): CallToolResult {
  const body = {
    error: { code: 'RATE_LIMITED', message: `Too many tool calls from you; retry in ${seconds} s.`, retry_after_seconds: seconds },
  };
  return { isError: true, content: [{ type: 'text', text: JSON.stringify(body) }], structuredContent: body };
}
