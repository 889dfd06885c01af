// cancel_job: cancels one job and reports what happened, verified with the backend. It acts on the
// job, so it needs the cancel scope; each call costs the caller one call of its budget.
import { CANCEL_OUTCOMES } from '../../jobs/model.ts';
import { TOOL_SCHEMAS, cancelJobArgs } from './schemas.ts';
import { invalidArguments } from './results.ts';
import type { JobTool } from './job-tool.ts';

export const cancelJob: JobTool<'cancel_job'> = {
  definition: {
    name: 'cancel_job',
    title: 'Cancel job',
    description:
      `Cancels one job and reports what really happened, verified with the backend. outcome is one of ${CANCEL_OUTCOMES.join(', ')}: ` +
      `"cancelled" (a queued job was removed, or the backend confirms the stop), "cancel_requested" (a running job was signalled; it stops cooperatively, ` +
      `pass wait_seconds, up to 60, to have this call wait until the job is terminal: it then answers cancelled with the confirmed status_after, or cancel_requested if it had not stopped by the deadline), "already_terminal" (it had already finished; status_after says how), "not_found" (the backend has no such job), ` +
      `"not_cancellable" (the backend refuses in the job's current state, e.g. a ComfyControl workflow still being accepted; retry later). ` +
      `Only the named job is touched, never another job running on the same host. Safe to repeat: a second cancel answers already_terminal. ` +
      `Requires the jobs:cancel permission where authentication is on.`,
    inputSchema: TOOL_SCHEMAS.cancel_job.input,
    outputSchema: TOOL_SCHEMAS.cancel_job.output,
    annotations: { title: 'Cancel job', readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  },
  scope: 'cancel',
  budget: 1,
  async run(service, args, options) {
    const parsed = cancelJobArgs.safeParse(args ?? {});
    if (!parsed.success) return invalidArguments(parsed.error);
    return service.cancelJob(parsed.data, options);
  },
};
