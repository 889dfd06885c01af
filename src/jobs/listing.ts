// Listing a project's jobs (list_jobs): what an adapter is asked and answers, and the walk over an
// offset-paged, newest-first backend list shared by the adapters whose backend pages that way.
// A listing walks from the newest job towards older ones. Jobs created after its first page are not
// in it (list again to see them); the jobs they push down are recognised and not listed twice.
import * as z from 'zod';
import { BackendError } from './backend-error.ts';
import type { BudgetCharge } from './budget.ts';
import type { JobStatus, JobStatusReport } from './model.ts';

export const LIST_LIMIT_MAX = 100;
export const LIST_LIMIT_DEFAULT = 20;

/** One job of a list: its id and its report (always `found`). */
export type ListedJob = JobStatusReport & { job_id: string };

export interface ListQuery {
  /** The unified statuses to keep; undefined: every job. */
  statuses: ReadonlySet<JobStatus> | undefined;
  /** At most this many jobs (1..LIST_LIMIT_MAX). */
  limit: number;
  /** Where the previous page ended, as this adapter wrote it (unvalidated: check it); undefined on the first page. */
  position: unknown;
  signal: AbortSignal;
  /** Charges the caller for hosts listed beyond the first (BackendCallContext.charge). */
  charge?: BudgetCharge | undefined;
}

/** A host of the project that could not be listed (ComfyUI): named in the answer, never silently dropped. */
export interface UnavailableHost {
  host: string;
  /** What went wrong (a BackendError, or the gateway's own failure); the job service words and logs it. */
  error: unknown;
}

export interface ListPage {
  jobs: ListedJob[];
  /** Where the next page starts; undefined when the listing is complete. */
  next: unknown;
  unavailable?: UnavailableHost[];
}

/** The adapter's position could not have come from this gateway. */
export function badPosition(): BackendError {
  return new BackendError('INVALID_ARGUMENT', 'The cursor is not one this gateway gave for this listing; list again without a cursor.');
}

/** Parses an adapter's position with its schema; a position that does not fit is INVALID_ARGUMENT. */
export function positionOf<T>(schema: z.ZodType<T>, position: unknown): T | undefined {
  if (position === undefined) return undefined;
  const parsed = schema.safeParse(position);
  if (!parsed.success) throw badPosition();
  return parsed.data;
}

/** Whether a status filter keeps a report. */
export function keeps(statuses: ReadonlySet<JobStatus> | undefined, report: JobStatusReport): boolean {
  return statuses === undefined || statuses.has(report.status);
}

/**
 * The one backend status word that selects exactly the wanted unified statuses, when there is one
 * (backends filter on a single word); undefined: list unfiltered and filter here.
 */
export function singleRawFilter(
  statuses: ReadonlySet<JobStatus> | undefined,
  rawWordsOf: Partial<Record<JobStatus, readonly string[]>>,
): string | undefined {
  if (statuses === undefined || statuses.size !== 1) return undefined;
  const words = rawWordsOf[[...statuses][0]!];
  return words?.length === 1 ? words[0] : undefined;
}

/** A job's place in time for newest-first order: created, else started, else completed (ms); undefined when none is known. */
export function timeOf(job: JobStatusReport): number | undefined {
  const iso = job.created_at ?? job.started_at ?? job.completed_at;
  return iso === undefined ? undefined : Date.parse(iso);
}

// --- offset-paged backends ------------------------------------------------------------------------

/** Ids kept of the jobs listed at the latest time: jobs created in one burst share a timestamp. */
const MAX_TIED_IDS = 100;

/**
 * Where a walk over an offset-paged list stands: the offset of the next unread item, and the time of
 * the last job listed with the ids listed at that time. When newer jobs arrive between pages, older
 * ones move to higher offsets; those already listed are newer than that time, or at it with a kept id.
 */
export const offsetPositionSchema = z.strictObject({
  offset: z.number().int().min(0).max(10_000_000),
  last: z.strictObject({ t: z.number(), ids: z.array(z.string().max(256)).max(MAX_TIED_IDS) }).optional(),
});
export type OffsetPosition = z.infer<typeof offsetPositionSchema>;

export interface OffsetPage<T> {
  /** The items from the asked offset on, newest first. */
  items: T[];
  /** Whether the backend has items after these. */
  hasMore: boolean;
}

export interface OffsetWalk<T> {
  position: OffsetPosition | undefined;
  limit: number;
  /** Backend pages read at most in one call (a filtered listing may need several to fill a page). */
  maxPages: number;
  fetch(offset: number): Promise<OffsetPage<T>>;
  /** The item as a listed job, or undefined when the status filter (or its shape) leaves it out. */
  toJob(item: T): ListedJob | undefined;
}

/** Seen before: newer than the last job listed, or listed at that very time (it moved down). */
export function listedBefore(job: ListedJob, last: OffsetPosition['last']): boolean {
  if (!last) return false;
  const t = timeOf(job);
  if (t === undefined) return false;
  return t > last.t || (t === last.t && last.ids.includes(job.job_id));
}

/** `last` after listing `job` (newest first, so times never grow). */
export function advanceLast(last: OffsetPosition['last'], job: ListedJob): OffsetPosition['last'] {
  const t = timeOf(job);
  if (t === undefined) return last;
  if (last?.t !== t) return { t, ids: [job.job_id] };
  return { t, ids: [...last.ids, job.job_id].slice(-MAX_TIED_IDS) };
}

/** Reads backend pages from the position until `limit` jobs are found, the list ends, or `maxPages` were read. */
export async function walkOffsetPages<T>(walk: OffsetWalk<T>): Promise<{ jobs: ListedJob[]; next: OffsetPosition | undefined }> {
  let offset = walk.position?.offset ?? 0;
  let last = walk.position?.last;
  const jobs: ListedJob[] = [];
  for (let pages = 0; pages < walk.maxPages; pages++) {
    // Jobs created between two reads of one call push listed ones into the next read, as between calls.
    const seen = last;
    const page = await walk.fetch(offset);
    for (let i = 0; i < page.items.length; i++) {
      const job = walk.toJob(page.items[i]!);
      if (!job || listedBefore(job, seen)) continue;
      jobs.push(job);
      last = advanceLast(last, job);
      if (jobs.length === walk.limit) {
        const more = i < page.items.length - 1 || page.hasMore;
        return { jobs, next: more ? { offset: offset + i + 1, ...(last ? { last } : {}) } : undefined };
      }
    }
    offset += page.items.length;
    if (!page.hasMore || page.items.length === 0) return { jobs, next: undefined };
  }
  return { jobs, next: { offset, ...(last ? { last } : {}) } };
}
