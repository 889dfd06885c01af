// The job tools as MCP sees them: names, descriptions, JSON Schemas (built once, shared by every
// session), argument parsing, and the shaping of results and tool errors.
import * as z from 'zod';
import type { CallToolResult, Tool } from '@modelcontextprotocol/server';
import { CANCEL_OUTCOMES, JOB_STATUSES, cancelReportSchema, jobStatusReportSchema } from '../jobs/model.ts';
import { BACKEND_KINDS, jobDetailsSchema } from '../backends/registry.ts';
import { LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX } from '../jobs/listing.ts';
import { TOOL_ERROR_CODES, type CallOptions, type JobService, type Outcome } from '../jobs/job-service.ts';

export const TOOL_NAMES = ['get_job_status', 'cancel_job', 'list_jobs'] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

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
  return { type: 'object', anyOf: [jsonSchema(result), jsonSchema(toolError)] } as Tool['outputSchema'];
}

const STATUS_WORDS = `queued, running, succeeded, failed, cancelled, or unknown (the backend has no record: found=false)`;

export const TOOL_DEFINITIONS: readonly Tool[] = [
  {
    name: 'get_job_status',
    title: 'Get job status',
    description:
      `Reads the current state of one job in a project's job system (ComfyUI, agent jobs, project runtime or ComfyControl) and answers in one vocabulary: ${STATUS_WORDS}. ` +
      `"terminal" is true once the job succeeded, failed or was cancelled. To follow a job, pass wait_seconds (up to 60) and known_status from your last answer instead of polling in a loop: ` +
      `the call answers as soon as the status differs from known_status or the job is terminal, else at the deadline with the current status and changed=false (never an error); call again with the new status. ` +
      `A client that sends a progress token gets a progress notification every few seconds while it waits. The result also carries the backend's own word (raw_status) and, when the backend knows them, ` +
      `queue position, progress, error details, timestamps, outputs and the host running the job. Read-only: it never changes the job. ` +
      `If the backend cannot be reached the call fails with BACKEND_UNAVAILABLE; it never guesses a status.`,
    inputSchema: jsonSchema(getJobStatusArgs) as Tool['inputSchema'],
    outputSchema: outputSchema(statusResult),
    annotations: { title: 'Get job status', readOnlyHint: true, openWorldHint: true },
  },
  {
    name: 'cancel_job',
    title: 'Cancel job',
    description:
      `Cancels one job and reports what really happened, verified with the backend. outcome is one of ${CANCEL_OUTCOMES.join(', ')}: ` +
      `"cancelled" (a queued job was removed, or the backend confirms the stop), "cancel_requested" (a running job was signalled; it stops cooperatively, ` +
      `pass wait_seconds, up to 60, to have this call wait until the job is terminal: it then answers cancelled with the confirmed status_after, or cancel_requested if it had not stopped by the deadline), "already_terminal" (it had already finished; status_after says how), "not_found" (the backend has no such job), ` +
      `"not_cancellable" (the backend refuses in the job's current state, e.g. a ComfyControl workflow still being accepted; retry later). ` +
      `Only the named job is touched, never another job running on the same host. Safe to repeat: a second cancel answers already_terminal. ` +
      `Requires the jobs:cancel permission where authentication is on.`,
    inputSchema: jsonSchema(cancelJobArgs) as Tool['inputSchema'],
    outputSchema: outputSchema(cancelResult),
    annotations: { title: 'Cancel job', readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  },
  {
    name: 'list_jobs',
    title: 'List jobs',
    description:
      `Lists the jobs of one project, newest first, in the same vocabulary as get_job_status (${STATUS_WORDS.replace(/, or unknown.*$/, ', or unknown')}), each with its job_id, name (where the backend names jobs), timestamps and the backend's own details: use it to find a job whose id you lost, to see a queue, or to check what is still running. ` +
      `Filter with status (one word or several). Answers hold at most limit jobs (default ${LIST_LIMIT_DEFAULT}, up to ${LIST_LIMIT_MAX}); when next_cursor is not null, call again with it as cursor (same project and status) for older jobs. ` +
      `A page can hold fewer jobs than limit while next_cursor is set (a status filter some backends cannot apply themselves); keep going until next_cursor is null. ` +
      `Jobs created after the first page are not in a listing; list again from the start to see them. On a ComfyUI project every host is listed and each job names its host; a host that cannot answer is named in unavailable_hosts, its jobs missing. Read-only.`,
    inputSchema: jsonSchema(listJobsArgs) as Tool['inputSchema'],
    outputSchema: outputSchema(listResult),
    annotations: { title: 'List jobs', readOnlyHint: true, openWorldHint: true },
  },
];

export function isToolName(name: string): name is ToolName {
  return (TOOL_NAMES as readonly string[]).includes(name);
}

/**
 * Runs a tool; argument problems come back as an INVALID_ARGUMENT tool error, like any other failure.
 * `toResult` makes the tool result of an outcome (one that remembers the JSON of shared answers: createResultMaker).
 */
export async function callTool(
  service: JobService,
  name: ToolName,
  args: unknown,
  options: CallOptions,
  toResult: ResultMaker = createResultMaker(),
): Promise<CallToolResult> {
  if (name === 'get_job_status') {
    const parsed = getJobStatusArgs.safeParse(args ?? {});
    if (!parsed.success) return toResult(invalidArguments(parsed.error));
    return toResult(await service.getJobStatus(parsed.data, options));
  }
  if (name === 'list_jobs') {
    const parsed = listJobsArgs.safeParse(args ?? {});
    if (!parsed.success) return toResult(invalidArguments(parsed.error));
    const { status, ...rest } = parsed.data;
    return toResult(
      await service.listJobs(
        { ...rest, ...(status !== undefined ? { status: typeof status === 'string' ? [status] : status } : {}) },
        options,
      ),
    );
  }
  const parsed = cancelJobArgs.safeParse(args ?? {});
  if (!parsed.success) return toResult(invalidArguments(parsed.error));
  return toResult(await service.cancelJob(parsed.data, options));
}

function invalidArguments(error: z.ZodError): Outcome<never> {
  const details = error.issues
    .map((i) => {
      const at = i.path.join('.') || 'arguments';
      if (i.code === 'unrecognized_keys') return `unknown argument(s) ${i.keys.join(', ')}`;
      return `${at}: ${i.message}`;
    })
    .join('; ');
  return { ok: false, error: { code: 'INVALID_ARGUMENT', message: `Invalid arguments: ${details}.` } };
}

/**
 * The text block of a result is the JSON of its structuredContent; it is kept under this key (a
 * symbol: never serialized) so the lean path can write the answer without serializing it twice.
 */
export const STRUCTURED_JSON: unique symbol = Symbol('structuredContent as JSON');
export type ToolResult = CallToolResult & { [STRUCTURED_JSON]?: string };

export type ResultMaker = (outcome: Outcome<object>) => ToolResult;

/**
 * The tool result of an outcome. A frozen answer is one the job service shares between calls (a job
 * polled while unchanged), so its JSON is written once and remembered with it.
 */
export function createResultMaker(): ResultMaker {
  const jsonOfShared = new WeakMap<object, string>();
  return (outcome) => {
    if (outcome.ok) {
      const value = outcome.value;
      let text = jsonOfShared.get(value);
      if (text === undefined) {
        text = JSON.stringify(value);
        if (Object.isFrozen(value)) jsonOfShared.set(value, text);
      }
      return { content: [{ type: 'text', text }], structuredContent: value as Record<string, unknown>, [STRUCTURED_JSON]: text };
    }
    const { ok: _ok, ...error } = outcome;
    const text = JSON.stringify(error);
    return { isError: true, content: [{ type: 'text', text }], structuredContent: error, [STRUCTURED_JSON]: text };
  };
}
