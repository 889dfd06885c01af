// The unified job model every backend maps onto (docs/architecture.md, the job model). A backend's
// kind is a label here: the closed set of kinds, and each kind's `details` fields, live in the
// backend registry (src/backends/registry.ts), which the tool layer's schemas take them from.
import * as z from 'zod';
import { MAX_DETAIL_CHARS } from './details.ts';

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'unknown'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const CANCEL_OUTCOMES = ['cancelled', 'cancel_requested', 'already_terminal', 'not_found', 'not_cancellable'] as const;
export type CancelOutcome = (typeof CANCEL_OUTCOMES)[number];

const TERMINAL: ReadonlySet<JobStatus> = new Set(['succeeded', 'failed', 'cancelled']);
export function isTerminal(status: JobStatus): boolean {
  return TERMINAL.has(status);
}

export const jobErrorSchema = z.object({
  message: z.string(),
  type: z.string().optional(),
  node: z.string().optional(),
  node_type: z.string().optional().describe('The type of the failed workflow node (ComfyUI: SaveImage, KSampler, …).'),
});
export type JobError = Immutable<z.infer<typeof jobErrorSchema>>;

/** One output file of a job (ComfyUI's history outputs, flattened). */
export const jobOutputSchema = z.strictObject({
  node: z.string().describe('The id of the workflow node that wrote it.'),
  media: z.string().describe('The kind of output: images, gifs, audio, …'),
  filename: z.string(),
  subfolder: z.string(),
  type: z.string().describe('output or temp'),
  url: z
    .string()
    .optional()
    .describe("Where to fetch the file: the host's /view route, given only when the operator configured a public URL for the host."),
});
export type JobOutput = Immutable<z.infer<typeof jobOutputSchema>>;

/** What an adapter reports about one job; the tool layer adds project, backend and job id. */
export const jobStatusReportSchema = z.object({
  found: z.boolean(),
  status: z.enum(JOB_STATUSES),
  raw_status: z.string().nullable(),
  queue_position: z.number().int().nonnegative().optional(),
  progress: z.object({ value: z.number(), max: z.number() }).optional(),
  error: jobErrorSchema.optional(),
  created_at: z.string().optional(),
  started_at: z.string().optional(),
  completed_at: z.string().optional(),
  outputs: z.array(jobOutputSchema).optional(),
  host: z.string().optional(),
  name: z
    .string()
    .max(MAX_DETAIL_CHARS)
    .optional()
    .describe("The job's name, where the backend gives jobs one (project runtime, ComfyControl)."),
  // The backend's own fields for its kind of job: each kind declares them, and the tool layer
  // publishes their union (jobDetailsSchema of the backend registry) in place of this record.
  details: z.record(z.string(), z.unknown()).optional(),
});

/**
 * Readonly all the way down: a report may be handed to several calls (a memoized answer, a wait's
 * waiters), so no holder changes it; it is built whole, and a changed report is a new object.
 */
export type Immutable<T> = T extends readonly (infer E)[]
  ? readonly Immutable<E>[]
  : T extends object
    ? { readonly [P in keyof T]: Immutable<T[P]> }
    : T;

export type JobStatusReport = Immutable<z.infer<typeof jobStatusReportSchema>>;

/** What an adapter reports about one cancel. */
export const cancelReportSchema = z.object({
  outcome: z.enum(CANCEL_OUTCOMES),
  status_before: z.enum(JOB_STATUSES),
  status_after: z.enum(JOB_STATUSES),
  message: z.string(),
  host: z.string().optional(),
  name: jobStatusReportSchema.shape.name,
  details: jobStatusReportSchema.shape.details,
});
export type CancelReport = Immutable<z.infer<typeof cancelReportSchema>>;

/** A report for a job the backend has no record of. */
export function notFoundReport(raw_status: string | null = null): JobStatusReport {
  return { found: false, status: 'unknown', raw_status };
}

/** Epoch seconds or milliseconds, or an ISO string, as ISO 8601; undefined when absent or unreadable. */
export function toIsoTime(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) {
    // Backends mix seconds and milliseconds; anything below 10^11 is seconds (year 5138 in ms).
    const ms = value < 1e11 ? value * 1000 : value;
    const d = new Date(ms);
    return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
  }
  if (typeof value === 'string' && value.length > 0 && value.length <= 64) {
    // Most backends already write this form, and parsing and formatting it again on every read is
    // the cost docs/performance.md names; any other form is normalised by Date.
    if (isCanonicalIso(value)) return value;
    const d = new Date(value);
    return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
  }
  return undefined;
}

/** `YYYY-MM-DDTHH:MM:SS.sssZ`, the form Date.prototype.toISOString writes for years 0000 to 9999. */
const CANONICAL_ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.\d{3}Z$/;

/**
 * Whether `s` is already what `new Date(s).toISOString()` returns: the canonical form with every
 * field in range (Date would roll over an out-of-range day or hour into the next month or day).
 */
function isCanonicalIso(s: string): boolean {
  const m = CANONICAL_ISO.exec(s);
  if (!m) return false;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  return (
    month >= 1 && month <= 12 && day >= 1 && day <= daysIn(year, month) && Number(m[4]) <= 23 && Number(m[5]) <= 59 && Number(m[6]) <= 59
  );
}

function daysIn(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** The `created_at` / `started_at` / `completed_at` fields of a report, each through `toIsoTime`; absent or unreadable ones are left out. */
export function timesOf(times: {
  created?: unknown;
  started?: unknown;
  completed?: unknown;
}): Pick<JobStatusReport, 'created_at' | 'started_at' | 'completed_at'> {
  const created = toIsoTime(times.created);
  const started = toIsoTime(times.started);
  const completed = toIsoTime(times.completed);
  return {
    ...(created ? { created_at: created } : {}),
    ...(started ? { started_at: started } : {}),
    ...(completed ? { completed_at: completed } : {}),
  };
}

/** A cancel report's `name` and `details`, from the latest read of the job. */
export function recordOf(report: JobStatusReport | undefined): Pick<CancelReport, 'name' | 'details'> {
  if (!report) return {};
  return {
    ...(report.name !== undefined ? { name: report.name } : {}),
    ...(report.details !== undefined ? { details: report.details } : {}),
  };
}
