// list_jobs: lists a project's jobs, newest first, a page at a time. Read-only, so it needs the read
// scope; each call costs the caller one call of its budget.
import { LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX } from '../../jobs/listing.ts';
import { TOOL_SCHEMAS, listJobsArgs } from './schemas.ts';
import { invalidArguments, parseArguments } from './results.ts';
import type { JobTool } from './job-tool.ts';

export const listJobs: JobTool<'list_jobs'> = {
  name: 'list_jobs',
  define: (limits) => ({
    name: 'list_jobs',
    title: 'List jobs',
    description:
      `Lists a project's jobs, newest first, in get_job_status's vocabulary, each with its job_id, name where the backend names jobs, timestamps and details: ` +
      `to find a lost job id, see a queue or check what still runs. Filter with status. At most limit jobs a page (default ${LIST_LIMIT_DEFAULT}, up to ${LIST_LIMIT_MAX}); ` +
      `while next_cursor is not null, call again with it as cursor (same project and status): a page may hold fewer jobs before the end. ` +
      `On a ComfyUI project every host is listed; hosts that cannot answer are named in unavailable_hosts. Read-only.`,
    inputSchema: TOOL_SCHEMAS.list_jobs.input(limits),
    outputSchema: TOOL_SCHEMAS.list_jobs.output,
    annotations: { title: 'List jobs', readOnlyHint: true, openWorldHint: true },
  }),
  scope: 'read',
  budget: 1,
  async run(service, args, options) {
    const parsed = parseArguments(listJobsArgs, args);
    if (!parsed.success) return invalidArguments(parsed.error);
    const { status, cursor, ...rest } = parsed.data;
    return service.listJobs(
      {
        ...rest,
        ...(status !== undefined ? { status: typeof status === 'string' ? [status] : status } : {}),
        // An empty cursor is the first page, as strict-schema frameworks send it.
        ...(cursor ? { cursor } : {}),
      },
      options,
    );
  },
};
