// list_jobs: lists a project's jobs, newest first, a page at a time. Read-only, so it needs the read
// scope; each call costs the caller one call of its budget.
import { LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX } from '../../jobs/listing.ts';
import { STATUS_WORDS, TOOL_SCHEMAS, listJobsArgs } from './schemas.ts';
import { invalidArguments } from './results.ts';
import type { JobTool } from './job-tool.ts';

export const listJobs: JobTool<'list_jobs'> = {
  definition: {
    name: 'list_jobs',
    title: 'List jobs',
    description:
      `Lists the jobs of one project, newest first, in the same vocabulary as get_job_status (${STATUS_WORDS.replace(/, or unknown.*$/, ', or unknown')}), each with its job_id, name (where the backend names jobs), timestamps and the backend's own details: use it to find a job whose id you lost, to see a queue, or to check what is still running. ` +
      `Filter with status (one word or several). Answers hold at most limit jobs (default ${LIST_LIMIT_DEFAULT}, up to ${LIST_LIMIT_MAX}); when next_cursor is not null, call again with it as cursor (same project and status) for older jobs. ` +
      `A page can hold fewer jobs than limit while next_cursor is set (a status filter some backends cannot apply themselves); keep going until next_cursor is null. ` +
      `Jobs created after the first page are not in a listing; list again from the start to see them. On a ComfyUI project every host is listed and each job names its host; a host that cannot answer is named in unavailable_hosts, its jobs missing. Read-only.`,
    inputSchema: TOOL_SCHEMAS.list_jobs.input,
    outputSchema: TOOL_SCHEMAS.list_jobs.output,
    annotations: { title: 'List jobs', readOnlyHint: true, openWorldHint: true },
  },
  scope: 'read',
  budget: 1,
  async run(service, args, options) {
    const parsed = listJobsArgs.safeParse(args ?? {});
    if (!parsed.success) return invalidArguments(parsed.error);
    const { status, ...rest } = parsed.data;
    return service.listJobs(
      { ...rest, ...(status !== undefined ? { status: typeof status === 'string' ? [status] : status } : {}) },
      options,
    );
  },
};
