// The schemas of the job tools, in one place: each tool's arguments (zod, for parsing) and the JSON
// Schemas tools/list states for its arguments and results (built once, shared by every request).
// The tools themselves (descriptions, scope, how they run) are one file each beside this one.
import * as z from 'zod';
import type { Tool } from '@modelcontextprotocol/server';
import { JOB_STATUSES, cancelReportSchema, jobStatusReportSchema } from '../../jobs/model.ts';
import { BACKEND_KINDS, jobDetailsSchema } from '../../backends/registry.ts';
import { LONGEST_WAIT_SECONDS } from '../../jobs/waits.ts';
import { LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX } from '../../jobs/listing.ts';
import { TOOL_ERROR_CODES } from '../../jobs/replies.ts';
import type { ToolLimits } from './job-tool.ts';

// Limits stated in the input schema and enforced with a coded INVALID_ARGUMENT error. An optional
// argument sent as null is absent (parseArguments, results.ts): strict-schema frameworks send null
// for every optional argument they leave out.
const projectReference = z.string().min(1).max(128).describe('The project: its reference or an alias (list_projects names them).');
const jobId = z.string().min(1).max(256).describe("The job's id in its backend (e.g. a ComfyUI prompt_id).");

/**
 * The bound the arguments are parsed with; within it, a wait longer than the maximum that applies
 * (waits.max_seconds in the call, waits.task_max_seconds as a task) is shortened to it. tools/list
 * states those maximums instead (waitSecondsFor).
 */
const waitSeconds = z.number().min(0).max(LONGEST_WAIT_SECONDS).optional();

export const getJobStatusArgs = z.strictObject({
  project_reference: projectReference,
  job_id: jobId,
  wait_seconds: waitSeconds,
  known_status: z
    .enum(JOB_STATUSES)
    .optional()
    .describe('Your last status of this job: a wait ends as soon as the status differs from it (default: the status when the call came).'),
});
export const cancelJobArgs = z.strictObject({
  project_reference: projectReference,
  job_id: jobId,
  reason: z.string().max(1000).optional().describe('Why; kept by backends that record it and in the audit log.'),
  wait_seconds: waitSeconds,
});

export const listJobsArgs = z.strictObject({
  project_reference: projectReference,
  status: z
    .union([z.enum(JOB_STATUSES), z.array(z.enum(JOB_STATUSES)).max(JOB_STATUSES.length)])
    .optional()
    .describe('Only jobs in this status or these statuses, e.g. ["queued", "running"] (default: all).'),
  limit: z
    .number()
    .int()
    .min(1)
    .max(LIST_LIMIT_MAX)
    .optional()
    .describe(`Jobs per page (default ${LIST_LIMIT_DEFAULT}, at most ${LIST_LIMIT_MAX}).`),
  cursor: z
    .string()
    .max(8192)
    .optional()
    .describe('next_cursor of the previous page (same project and status); empty or absent: the first page.'),
});

export const listProjectsArgs = z.strictObject({});

/**
 * What wait_seconds says in tools/list: the maximum answered in the call and the one as an MCP task,
 * in its words; its bound is the task's, the longest any client gets.
 */
function waitSecondsFor(tool: 'get_job_status' | 'cancel_job', limits: ToolLimits) {
  const max = limits.maxWaitSeconds;
  const most = `at most ${max}, or ${limits.maxTaskWaitSeconds} as an MCP task`;
  return {
    type: 'number',
    minimum: 0,
    maximum: Math.max(max, limits.maxTaskWaitSeconds),
    description:
      tool === 'get_job_status'
        ? `Seconds to wait for a change before answering (default 0: at once; ${most}).`
        : `After cancel_requested, seconds to wait for the job to stop (default 0; ${most}).`,
  };
}

const backendRef = z.strictObject({ name: z.string(), kind: z.enum(BACKEND_KINDS) });
// A report's `details`, published as the union of every kind's fields (the model holds a plain record).
const details = jobDetailsSchema.optional();
const jobRef = { project_reference: z.string(), backend: backendRef, job_id: z.string(), terminal: z.boolean() };

const waitedSeconds = z.number().nonnegative().optional().describe('Present when the call waited: how long, in seconds.');
const statusResult = z.strictObject({
  ...jobRef,
  ...jobStatusReportSchema.shape,
  details,
  changed: z
    .boolean()
    .optional()
    .describe('Present when the call waited: whether the status differs from known_status (or from the status when the call came).'),
  waited_seconds: waitedSeconds,
});
const cancelResult = z.strictObject({ ...jobRef, ...cancelReportSchema.shape, details, waited_seconds: waitedSeconds });
const errorShape = z.strictObject({
  code: z.enum(TOOL_ERROR_CODES),
  message: z.string(),
  retry_after_seconds: z.number().int().nonnegative().optional(),
  request_id: z.string().optional(),
});
const { found: _found, ...listedReport } = jobStatusReportSchema.shape;
const listResult = z.strictObject({
  project_reference: z.string(),
  backend: backendRef,
  jobs: z.array(z.strictObject({ job_id: z.string(), ...listedReport, details, terminal: z.boolean() })).describe('Newest first.'),
  next_cursor: z.string().nullable().describe('Pass as cursor to read the next page; null when there are no more jobs.'),
  unavailable_hosts: z
    .array(z.strictObject({ host: z.string(), error: errorShape }))
    .optional()
    .describe('Hosts of the project that could not be listed this time: their jobs are missing from this answer.'),
});
const toolError = z.strictObject({
  error: errorShape,
  project_reference: z.string().optional(),
  backend: backendRef.optional(),
  job_id: z.string().optional(),
});

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12' }) as Record<string, unknown>;
  return singleTypes(rest) as Record<string, unknown>;
}

/**
 * zod writes a nullable field as `type: ["string", "null"]` (after any override, so it is undone
 * here); clients that map tool schemas onto a single-`type` dialect (Gemini's function
 * declarations, the Inspector's --strict check) reject that, so each type gets its own `anyOf` branch.
 */
function singleTypes(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(singleTypes);
  if (typeof node !== 'object' || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === 'type' && Array.isArray(v)) out.anyOf = v.map((type: unknown) => ({ type }));
    else out[k] = singleTypes(v);
  }
  return out;
}

/**
 * An outputSchema that admits the result and the tool-error shape: clients (the SDK's among them)
 * validate structuredContent against it even when isError is set.
 */
function outputSchema(result: z.ZodType): Tool['outputSchema'] {
  return { type: 'object', anyOf: [jsonSchema(result), jsonSchema(toolError)] };
}

/** The status vocabulary, as the tools' descriptions state it. */
export const STATUS_WORDS = `queued, running, succeeded, failed, cancelled, or unknown (the backend has no record: found=false)`;

const projectsResult = z.strictObject({
  projects: z.array(
    z.strictObject({
      project_reference: z.string(),
      aliases: z.array(z.string()),
      backend: backendRef,
      description: z.string().optional(),
    }),
  ),
});

/** A tool's argument schema as tools/list states it, with wait_seconds at this gateway's maximum. */
function inputSchema(args: z.ZodObject, tool?: 'get_job_status' | 'cancel_job'): (limits: ToolLimits) => Tool['inputSchema'] {
  const base = jsonSchema(args) as Tool['inputSchema'];
  if (tool === undefined) return () => base;
  return (limits) => ({ ...base, properties: { ...base.properties, wait_seconds: waitSecondsFor(tool, limits) } });
}

/** The JSON Schemas of each tool's arguments (for a gateway's limits) and results, as tools/list states them. */
export const TOOL_SCHEMAS = {
  get_job_status: { input: inputSchema(getJobStatusArgs, 'get_job_status'), output: outputSchema(statusResult) },
  cancel_job: { input: inputSchema(cancelJobArgs, 'cancel_job'), output: outputSchema(cancelResult) },
  list_jobs: { input: inputSchema(listJobsArgs), output: outputSchema(listResult) },
  list_projects: { input: inputSchema(listProjectsArgs), output: outputSchema(projectsResult) },
};
