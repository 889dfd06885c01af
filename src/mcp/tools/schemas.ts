// The schemas of the job tools, in one place: each tool's arguments (zod, for parsing) and the JSON
// Schemas tools/list states for its arguments and results (built once, shared by every request).
// The tools themselves (descriptions, scope, how they run) are one file each beside this one.
import * as z from 'zod';
import type { Tool } from '@modelcontextprotocol/server';
import { JOB_STATUSES, cancelReportSchema, jobStatusReportSchema } from '../../jobs/model.ts';
import { BACKEND_KINDS, jobDetailsSchema } from '../../backends/registry.ts';
import { LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX } from '../../jobs/listing.ts';
import { TOOL_ERROR_CODES } from '../../jobs/replies.ts';

// Limits stated in the input schema and enforced with a coded INVALID_ARGUMENT error.
const projectReference = z
  .string()
  .min(1)
  .max(128)
  .describe('The project that owns the job: its reference or an alias, as your operator named it.');
const jobId = z
  .string()
  .min(1)
  .max(256)
  .describe("The job's id in its backend (e.g. a ComfyUI prompt_id, an agent job_id, a workflow id).");

/** The schema's own bound; within it, a wait longer than the gateway's configured maximum is shortened to it. */
export const WAIT_SECONDS_LIMIT = 600;
const waitSeconds = z
  .number()
  .min(0)
  .max(WAIT_SECONDS_LIMIT)
  .optional()
  .describe(
    'Seconds to wait before answering (default 0: answer at once). Longer than the gateway allows (60 s unless the operator changed it) is shortened to its maximum.',
  );

export const getJobStatusArgs = z.strictObject({
  project_reference: projectReference,
  job_id: jobId,
  wait_seconds: waitSeconds,
  known_status: z
    .enum(JOB_STATUSES)
    .optional()
    .describe(
      'The status from your last answer: a wait ends as soon as the status differs from it. Without it, a wait ends when the status differs from the one the job had when the call came.',
    ),
});
export const cancelJobArgs = z.strictObject({
  project_reference: projectReference,
  job_id: jobId,
  reason: z
    .string()
    .max(1000)
    .optional()
    .describe('Why the job is cancelled; kept by backends that record it (agent-jobs) and in the audit log.'),
  wait_seconds: waitSeconds.describe(
    "After cancel_requested, seconds to wait for the job to stop (default 0). Shortened to the gateway's maximum (60 s unless the operator changed it).",
  ),
});

export const listJobsArgs = z.strictObject({
  project_reference: z
    .string()
    .min(1)
    .max(128)
    .describe('The project whose jobs to list: its reference or an alias, as your operator named it.'),
  status: z
    .union([z.enum(JOB_STATUSES), z.array(z.enum(JOB_STATUSES)).max(JOB_STATUSES.length)])
    .optional()
    .describe(
      'Only jobs in this status, or in any of these statuses (e.g. ["queued", "running"] for the jobs still to finish). Default: every job.',
    ),
  limit: z
    .number()
    .int()
    .min(1)
    .max(LIST_LIMIT_MAX)
    .optional()
    .describe(`Most jobs in one answer (default ${LIST_LIMIT_DEFAULT}, at most ${LIST_LIMIT_MAX}).`),
  cursor: z
    .string()
    .min(1)
    .max(8192)
    .optional()
    .describe('next_cursor from the previous answer, to read the next page; use it with the same project and status.'),
});

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

/** The JSON Schemas of each tool's arguments and results, as tools/list states them. */
export const TOOL_SCHEMAS = {
  get_job_status: { input: jsonSchema(getJobStatusArgs) as Tool['inputSchema'], output: outputSchema(statusResult) },
  cancel_job: { input: jsonSchema(cancelJobArgs) as Tool['inputSchema'], output: outputSchema(cancelResult) },
  list_jobs: { input: jsonSchema(listJobsArgs) as Tool['inputSchema'], output: outputSchema(listResult) },
};
