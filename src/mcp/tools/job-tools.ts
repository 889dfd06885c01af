// The job tools this gateway serves, in the order tools/list states them.
import type { JobService } from '../../jobs/job-service.ts';
import type { ServiceCallContext } from '../../jobs/replies.ts';
import { getJobStatus } from './get-job-status.ts';
import { cancelJob } from './cancel-job.ts';
import { listJobs } from './list-jobs.ts';
import { listProjects } from './list-projects.ts';
import { toolResult, type ToolResult } from './results.ts';
import type { JobTool } from './job-tool.ts';

export const JOB_TOOLS = [listProjects, getJobStatus, cancelJob, listJobs] as const;
export type ToolName = (typeof JOB_TOOLS)[number]['name'];

/** The job tool of this name, if there is one. */
export function jobTool(name: string): JobTool<ToolName> | undefined {
  return JOB_TOOLS.find((t) => t.name === name);
}

export function isToolName(name: string): name is ToolName {
  return jobTool(name) !== undefined;
}

/** Runs a job tool and shapes its result (argument problems come back as an INVALID_ARGUMENT tool error). */
export async function callTool(service: JobService, name: ToolName, args: unknown, options: ServiceCallContext): Promise<ToolResult> {
  return toolResult(await jobTool(name)!.run(service, args, options));
}
