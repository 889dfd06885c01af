// get_job_status: reads one job, optionally waiting for its status to change. Read-only, so it
// needs the read scope; each call costs the caller one call of its budget.
import { STATUS_WORDS, TOOL_SCHEMAS, getJobStatusArgs } from './schemas.ts';
import { invalidArguments } from './results.ts';
import type { JobTool } from './job-tool.ts';

export const getJobStatus: JobTool<'get_job_status'> = {
  definition: {
    name: 'get_job_status',
    title: 'Get job status',
    description:
      `Reads the current state of one job in a project's job system (ComfyUI, agent jobs, project runtime or ComfyControl) and answers in one vocabulary: ${STATUS_WORDS}. ` +
      `"terminal" is true once the job succeeded, failed or was cancelled. To follow a job, pass wait_seconds (up to 60) and known_status from your last answer instead of polling in a loop: ` +
      `the call answers as soon as the status differs from known_status or the job is terminal, else at the deadline with the current status and changed=false (never an error); call again with the new status. ` +
      `A client that sends a progress token gets a progress notification every few seconds while it waits. The result also carries the backend's own word (raw_status) and, when the backend knows them, ` +
      `queue position, progress, error details, timestamps, outputs and the host running the job. Read-only: it never changes the job. ` +
      `If the backend cannot be reached the call fails with BACKEND_UNAVAILABLE; it never guesses a status.`,
    inputSchema: TOOL_SCHEMAS.get_job_status.input,
    outputSchema: TOOL_SCHEMAS.get_job_status.output,
    annotations: { title: 'Get job status', readOnlyHint: true, openWorldHint: true },
  },
  scope: 'read',
  budget: 1,
  async run(service, args, options) {
    const parsed = getJobStatusArgs.safeParse(args ?? {});
    if (!parsed.success) return invalidArguments(parsed.error);
    return service.getJobStatus(parsed.data, options);
  },
};
