// One job tool: its MCP definition, the policy it declares (scope and budget), and how it runs on the
// job service. Each tool is one file beside this one; job-tools.ts lists them.
import type { Tool } from '@modelcontextprotocol/server';
import type { JobService, WatchStart } from '../../jobs/job-service.ts';
import type { Reply, ServiceCallContext } from '../../jobs/replies.ts';
import type { ToolPolicy } from '../policy.ts';

/** The gateway's settings a tool's definition states, so that a model reads the one number that applies. */
export interface ToolLimits {
  /** waits.max_seconds: the longest wait_seconds honoured (a longer one is shortened to it). */
  readonly maxWaitSeconds: number;
  /** waits.task_max_seconds: the longest wait_seconds honoured when the call is answered as an MCP task. */
  readonly maxTaskWaitSeconds: number;
}

export interface JobTool<Name extends string = string> extends ToolPolicy {
  readonly name: Name;
  /** What tools/list states (title, description, JSON Schemas, annotations), for this gateway's limits. */
  define(limits: ToolLimits): Tool & { name: Name };
  /** Parses the arguments and runs the tool; argument problems come back as an INVALID_ARGUMENT reply, like any other failure. */
  run(service: JobService, args: unknown, context: ServiceCallContext): Promise<Reply<object>>;
  /** For a tool whose calls may wait: the wait_seconds the arguments ask for (0 when none, or when they do not parse). */
  waitAsked?(args: unknown): number;
  /**
   * For a tool whose calls may wait: when the arguments ask for a wait, starts it as a watch an MCP
   * task keeps, the wait bounded by `maxSeconds`; undefined when they do not (or do not parse): the
   * call is then an ordinary one.
   */
  startWatch?(service: JobService, args: unknown, maxSeconds: number, context: ServiceCallContext): Promise<WatchStart<object>> | undefined;
}
