// get_job_status: reads one job, optionally waiting for its status to change. Read-only, so it
// needs the read scope; each call costs the caller one call of its budget.
import { STATUS_WORDS, TOOL_SCHEMAS, getJobStatusArgs } from './schemas.ts';
import { invalidArguments, parseArguments } from './results.ts';
import type { JobTool } from './job-tool.ts';

export const getJobStatus: JobTool<'get_job_status'> = {
  name: 'get_job_status',
  define: (limits) => ({
    name: 'get_job_status',
    title: 'Get job status',
    description:
      `Reads one job of a project and answers in one vocabulary: ${STATUS_WORDS}; terminal is true once it succeeded, failed or was cancelled. ` +
      `To follow a job, pass wait_seconds and known_status instead of polling: the call answers as soon as the status differs or the job is terminal, ` +
      `else at the deadline with changed=false; then call again (a client that takes MCP tasks gets a task; tasks/cancel ends the task, never the job). The result also has the backend's own word (raw_status) and, where known, ` +
      `queue position, progress, error, timestamps, outputs and host. Read-only. BACKEND_UNAVAILABLE when the backend cannot be reached: a status is never guessed.`,
    inputSchema: TOOL_SCHEMAS.get_job_status.input(limits),
    outputSchema: TOOL_SCHEMAS.get_job_status.output,
    annotations: { title: 'Get job status', readOnlyHint: true, openWorldHint: true },
  }),
  scope: 'read',
  budget: 1,
  async run(service, args, options) {
    const parsed = parseArguments(getJobStatusArgs, args);
    if (!parsed.success) return invalidArguments(parsed.error);
    return service.getJobStatus(parsed.data, options);
  },
  waitAsked(args) {
    const parsed = parseArguments(getJobStatusArgs, args);
    return parsed.success ? (parsed.data.wait_seconds ?? 0) : 0;
  },
  startWatch(service, args, maxSeconds, options) {
    const parsed = parseArguments(getJobStatusArgs, args);
    const seconds = parsed.success ? Math.min(parsed.data.wait_seconds ?? 0, maxSeconds) : 0;
    return seconds > 0 ? service.watchStatus(parsed.data!, seconds, options) : undefined;
  },
};
