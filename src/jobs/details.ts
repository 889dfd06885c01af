// A job's `name` and `details`: the backend's own documented fields for its kind, so a person or a
// model can tell jobs apart in a list. Each kind has a closed set of fields, each bounded in size;
// nothing else of a backend's answer is passed on.
import * as z from 'zod';

/** Longest string in `name` or `details`; longer ones are cut. */
export const MAX_DETAIL_CHARS = 200;
/** Most tags passed on. */
const MAX_TAGS = 20;

const text = z.string().max(MAX_DETAIL_CHARS);
const int = z.number().int();

export const comfyuiDetailsSchema = z.strictObject({
  number: z.number().optional().describe("ComfyUI's queue number (its priority): lower runs first."),
  workflow_id: text.optional().describe('The id of the saved workflow the prompt came from, when the client sent one.'),
  outputs_count: int.nonnegative().optional().describe('How many output files the job wrote.'),
  execution_duration_ms: int.nonnegative().optional().describe('How long the run took, from execution start to its end.'),
  cached_nodes: int.nonnegative().optional().describe('How many nodes ComfyUI took from its cache instead of running them.'),
});

export const agentJobsDetailsSchema = z.strictObject({
  job_type_id: text.optional().describe('The agent job type.'),
  channel_code: text.optional().describe('The channel the job reports to.'),
  scheduled_at: text.optional().describe('When a scheduled job is due (ISO 8601).'),
  tasks_count: int.nonnegative().optional().describe('Tasks the job has created so far.'),
  last_task_created_at: text.optional().describe('When its latest task was created (ISO 8601).'),
  tags: z.array(text).max(MAX_TAGS).optional(),
});

export const projectRuntimeDetailsSchema = z.strictObject({
  target: text.optional().describe('What runs, e.g. task:knowledge-ingest, workflow:…, deploy:….'),
  environment_id: text.optional(),
  branch_id: text.optional(),
  batch_id: text.optional().describe('The job batch it belongs to.'),
  cron_job_id: text.optional().describe('The cron job that started it.'),
  exit_code: int.optional(),
  failed_reason: text.optional(),
  timeout_seconds: z.number().nonnegative().optional(),
  backoff_limit: int.nonnegative().optional().describe('Retries allowed.'),
  result_state: text.optional().describe("The result summary's verdict: success, partial_success or failed."),
});

export const comfycontrolDetailsSchema = z.strictObject({
  tags: z.array(text).max(MAX_TAGS).optional(),
  user_runner_id: text.optional(),
  managed_runner_id: text.optional(),
  prompt_id: text.optional().describe('The ComfyUI prompt id once the workflow is queued on a runner.'),
  queue_number: z.number().optional(),
});

export const jobDetailsSchema = z
  .union([comfyuiDetailsSchema, agentJobsDetailsSchema, projectRuntimeDetailsSchema, comfycontrolDetailsSchema])
  .describe("The backend's own fields for this kind of job (see backend.kind); only those it knows are present.");

export type ComfyuiDetails = z.infer<typeof comfyuiDetailsSchema>;
export type AgentJobsDetails = z.infer<typeof agentJobsDetailsSchema>;
export type ProjectRuntimeDetails = z.infer<typeof projectRuntimeDetailsSchema>;
export type ComfycontrolDetails = z.infer<typeof comfycontrolDetailsSchema>;
export type JobDetails = z.infer<typeof jobDetailsSchema>;

/** A string field as passed on: non-empty strings (and numeric ids) cut to MAX_DETAIL_CHARS; anything else absent. */
export function textOf(v: unknown): string | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string' || v === '') return undefined;
  return v.length > MAX_DETAIL_CHARS ? v.slice(0, MAX_DETAIL_CHARS) : v;
}

/** A finite number, else absent. */
export function numberOf(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** An integer, else absent. */
export function intOf(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) ? v : undefined;
}

/** A count (a non-negative integer), else absent: the schema holds no negative counts. */
export function countOf(v: unknown): number | undefined {
  const n = intOf(v);
  return n !== undefined && n >= 0 ? n : undefined;
}

/** A non-negative finite number (a duration), else absent. */
export function nonNegativeOf(v: unknown): number | undefined {
  const n = numberOf(v);
  return n !== undefined && n >= 0 ? n : undefined;
}

/** Tags as passed on: strings only, each cut, at most MAX_TAGS. */
export function tagsOf(v: unknown): string[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const tags = v
    .map(textOf)
    .filter((t): t is string => t !== undefined)
    .slice(0, MAX_TAGS);
  return tags.length ? tags : undefined;
}

/** An object without its undefined fields; undefined when nothing is left. */
export function compact<T extends Record<string, unknown>>(o: T): T | undefined {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return Object.keys(out).length ? (out as T) : undefined;
}
