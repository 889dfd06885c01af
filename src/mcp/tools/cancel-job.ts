// cancel_job: cancels one job and reports what happened, verified with the backend. It acts on the
// job, so it needs the cancel scope; each call costs the caller one call of its budget.
import { TOOL_SCHEMAS, cancelJobArgs } from './schemas.ts';
import { invalidArguments, parseArguments } from './results.ts';
import type { JobTool } from './job-tool.ts';

export const cancelJob: JobTool<'cancel_job'> = {
  name: 'cancel_job',
  define: (limits) => ({
    name: 'cancel_job',
    title: 'Cancel job',
    description:
      `Cancels one job and reports what happened, verified with the backend. outcome: cancelled (removed from the queue, or the stop is confirmed); ` +
      `cancel_requested (a running job was signalled and stops on its own: pass wait_seconds to wait until it is terminal, then it answers cancelled with status_after); ` +
      `already_terminal (it had ended; status_after says how); not_found (no such job); not_cancellable (refused in the job's current state; retry later). ` +
      `Only this job is touched. Safe to repeat. Needs the jobs:cancel permission. The only way to cancel a job: tasks/cancel ends an MCP task, never its job.`,
    inputSchema: TOOL_SCHEMAS.cancel_job.input(limits),
    outputSchema: TOOL_SCHEMAS.cancel_job.output,
    annotations: { title: 'Cancel job', readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  }),
  scope: 'cancel',
  budget: 1,
  async run(service, args, options) {
    const parsed = parseArguments(cancelJobArgs, args);
    if (!parsed.success) return invalidArguments(parsed.error);
    return service.cancelJob(parsed.data, options);
  },
  waitAsked(args) {
    const parsed = parseArguments(cancelJobArgs, args);
    return parsed.success ? (parsed.data.wait_seconds ?? 0) : 0;
  },
  startWatch(service, args, maxSeconds, options) {
    const parsed = parseArguments(cancelJobArgs, args);
    const seconds = parsed.success ? Math.min(parsed.data.wait_seconds ?? 0, maxSeconds) : 0;
    return seconds > 0 ? service.watchCancel(parsed.data!, seconds, options) : undefined;
  },
};
