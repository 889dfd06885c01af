// Adapter for Veryfront-style project runtimes (docs/backends.md, project runtime).
//   status: GET  {base}/projects/{project}/jobs/{job_id}         -> Job
//   cancel: POST {base}/projects/{project}/jobs/{job_id}/cancel  -> the updated Job
//   list:   GET  {base}/projects/{project}/jobs?cursor&limit[&status] -> {data: [JobListItem], page_info: {next}}
// `project` is `remote_project` from the config, else the gateway's project reference. The cancel
// answer for a running job may still say `working` (the stop is cooperative, an inference the API does not document): that is `cancel_requested`.
// The status codes for cancelling a finished or unknown job are undocumented, so any 4xx other
// than 401/403/429 is followed by a read that decides between `already_terminal` and `not_found`.
import * as z from 'zod';
import type { ProjectRuntimeBackendConfig } from './config.ts';
import type { ProjectRuntimeDetails } from './details.ts';
import { assertJobId, jobIdRule, type BackendCallContext, type BackendCancelContext, type JobBackend } from '../../jobs/backend.ts';
import { compact, countOf, intOf, nonNegativeOf, textOf } from '../../jobs/details.ts';
import { keeps, positionOf, singleRawFilter, type ListPage, type ListQuery, type ListedJob } from '../../jobs/listing.ts';
import {
  isTerminal,
  notFoundReport,
  recordOf,
  timesOf,
  type CancelReport,
  type JobError,
  type JobStatus,
  type JobStatusReport,
} from '../../jobs/model.ts';
import type { AdapterOptions } from '../http/adapter-options.ts';
import { createAnswerMemo } from '../http/answer-memo.ts';
import {
  answerForAnotherJob,
  createHttpClient,
  isAnswerFor,
  parseJson,
  unexpectedShape,
  unexpectedStatus,
  type HttpResponse,
} from '../http/http-client.ts';

// `job_id` is `string<uuid>` in the API. Postgres-style UUIDs compare case-insensitively, so an
// uppercase UUID is accepted and sent in canonical lowercase.
const validateJobId = jobIdRule({
  what: 'A project-runtime job id',
  pattern: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
  hint: 'is a UUID such as 3f2b8c1e-9a4d-4e6f-8b2a-1c3d5e7f9a0b',
});

const STATUS_MAP: Readonly<Record<string, JobStatus>> = {
  submitted: 'queued',
  working: 'running',
  completed: 'succeeded',
  failed: 'failed',
  canceled: 'cancelled',
  cancelled: 'cancelled', // the Veryfront spelling is `canceled`; the other spelling is accepted too
};
/** The list filter's word for each unified status. */
const RAW_WORDS: Partial<Record<JobStatus, readonly string[]>> = {
  queued: ['submitted'],
  running: ['working'],
  succeeded: ['completed'],
  failed: ['failed'],
  cancelled: ['canceled'],
};

/**
 * The runtime's own cursor for the page to read next, and where in it the listing stopped: after the
 * job `after` where that page still holds it, else after its first `skip` jobs. (A first page has no
 * cursor, so jobs created meanwhile push it down: the id finds the place again.)
 */
const positionSchema = z.strictObject({
  cursor: z.string().max(2048).optional(),
  skip: z.number().int().min(0).max(100),
  after: z.string().max(256).optional(),
});
const listSchema = z.looseObject({
  data: z.array(z.unknown()),
  page_info: z.looseObject({ next: z.string().nullable().optional() }).nullable().optional(),
});

const jobSchema = z.looseObject({
  id: z.string().optional(),
  status: z.string(),
  created_at: z.string().nullable().optional(),
  started_at: z.string().nullable().optional(),
  completed_at: z.string().nullable().optional(),
  exit_code: z.number().nullable().optional(),
  failed_reason: z.string().nullable().optional(),
  failure_detail: z.unknown().optional(),
  result_summary: z
    .looseObject({
      state: z.string().optional(),
      requested_count: z.number().optional(),
      ingested_count: z.number().optional(),
      failed_count: z.number().optional(),
    })
    .nullable()
    .optional(),
});
type RuntimeJob = z.infer<typeof jobSchema>;

export function createProjectRuntimeBackend(config: ProjectRuntimeBackendConfig, options: AdapterOptions): JobBackend<'project_runtime'> {
  const name = options.name;
  const project = config.remote_project ?? options.projectReference;
  const http = createHttpClient({
    name,
    baseUrl: config.base_url,
    headers: { authorization: `Bearer ${config.token}` },
    timeoutMs: config.timeout_ms ?? options.timeoutMs,
    observe: options.observe,
    trace: options.trace,
  });
  const jobPath = (id: string): string[] => ['projects', project, 'jobs', id.toLowerCase()];
  const lastAnswers = createAnswerMemo<JobStatusReport>();

  function detailsOf(job: RuntimeJob): ProjectRuntimeDetails | undefined {
    return compact<ProjectRuntimeDetails>({
      target: textOf(job.target),
      environment_id: textOf(job.environment_id),
      branch_id: textOf(job.branch_id),
      batch_id: textOf(job.batch_id),
      cron_job_id: textOf(job.cron_job_id),
      exit_code: intOf(job.exit_code),
      failed_reason: textOf(job.failed_reason),
      timeout_seconds: nonNegativeOf(job.timeout_seconds),
      backoff_limit: countOf(job.backoff_limit),
      result_state: textOf(job.result_summary?.state),
    });
  }

  function toReport(job: RuntimeJob): JobStatusReport {
    const raw = job.status;
    // An unlisted word is kept verbatim and reported as `unknown` (found): the gateway does not guess.
    const status = STATUS_MAP[raw.toLowerCase()] ?? 'unknown';
    const name = textOf(job.name);
    const details = detailsOf(job);
    const error = errorOf(job, status);
    return {
      found: true,
      status,
      raw_status: raw,
      ...timesOf({ created: job.created_at, started: job.started_at, completed: job.completed_at }),
      ...(name !== undefined ? { name } : {}),
      ...(details ? { details } : {}),
      ...(error ? { error } : {}),
    };
  }

  function errorOf(job: RuntimeJob, status: JobStatus): JobError | undefined {
    if (status === 'failed') {
      const detail = typeof job.failure_detail === 'string' && job.failure_detail !== '' ? job.failure_detail : undefined;
      let message = detail ?? job.failed_reason ?? 'the job failed (the runtime gave no reason)';
      if (typeof job.exit_code === 'number' && !message.includes(`code ${job.exit_code}`)) message += ` (exit code ${job.exit_code})`;
      return { message: message.slice(0, 2000), ...(job.failed_reason ? { type: job.failed_reason.slice(0, 200) } : {}) };
    }
    // A `completed` job is `succeeded` per the mapping table even when its result summary reports
    // `failed` or `partial_success`: the run itself finished. The summary's verdict is surfaced in
    // `error` so a caller does not mistake a failed ingest for a clean one.
    const state = job.result_summary?.state;
    if (status === 'succeeded' && (state === 'failed' || state === 'partial_success')) {
      const s = job.result_summary!;
      const counts =
        typeof s.requested_count === 'number'
          ? ` (${s.ingested_count ?? 0} of ${s.requested_count} items done, ${s.failed_count ?? 0} failed)`
          : '';
      return {
        message:
          state === 'failed'
            ? `the job completed but its result reports failure${counts}`
            : `the job completed with partial success${counts}`,
        type: `result_summary.${state}`,
      };
    }
    return undefined;
  }

  /** The Job in a read or cancel answer; one that names another job is refused, never reported as this one. */
  function parseJob(res: HttpResponse, jobId: string): RuntimeJob {
    const body = parseJson(name, res);
    // The API answers the Job itself; a `{data: Job}` envelope is tolerated.
    let parsed = jobSchema.safeParse(body);
    if (!parsed.success && body !== null && typeof body === 'object' && 'data' in body) parsed = jobSchema.safeParse(body.data);
    if (!parsed.success) throw unexpectedShape(name, res, 'a job');
    if (!isAnswerFor(jobId, parsed.data.id)) throw answerForAnotherJob(name, res);
    return parsed.data;
  }

  async function read(jobId: string, signal: AbortSignal): Promise<JobStatusReport> {
    const res = await http.call({ action: 'get_job', method: 'GET', path: jobPath(jobId), jobId: jobId.toLowerCase(), signal });
    if (res.status === 200) return lastAnswers.reuse(jobId, res.text, () => toReport(parseJob(res, jobId)));
    // Unknown ids and other projects' jobs are 404. 403 (a token without access to this project) and
    // 401 are credential problems: BACKEND_AUTH via unexpectedStatus.
    if (res.status === 404) return notFoundReport();
    throw unexpectedStatus(name, res);
  }

  async function getStatus(jobId: string, ctx: BackendCallContext): Promise<JobStatusReport> {
    assertJobId(validateJobId, jobId);
    return read(jobId, ctx.signal);
  }

  async function cancel(jobId: string, ctx: BackendCancelContext): Promise<CancelReport> {
    assertJobId(validateJobId, jobId);
    const before = await read(jobId, ctx.signal);
    if (!before.found)
      return {
        outcome: 'not_found',
        status_before: 'unknown',
        status_after: 'unknown',
        message: `job ${jobId} does not exist in project ${project}`,
      };
    if (isTerminal(before.status)) {
      return {
        outcome: 'already_terminal',
        status_before: before.status,
        status_after: before.status,
        message: `job ${jobId} had already finished (${before.raw_status}); nothing was cancelled`,
        ...recordOf(before),
      };
    }
    const res = await http.call({
      action: 'cancel_job',
      method: 'POST',
      path: [...jobPath(jobId), 'cancel'],
      jobId: jobId.toLowerCase(),
      signal: ctx.signal,
    });
    if (res.status >= 200 && res.status < 300) {
      const after = toReport(parseJob(res, jobId));
      if (after.status === 'cancelled') {
        return {
          outcome: 'cancelled',
          status_before: before.status,
          status_after: 'cancelled',
          message: `job ${jobId} is now ${after.raw_status}`,
          ...recordOf(after),
        };
      }
      if (isTerminal(after.status)) {
        return {
          outcome: 'already_terminal',
          status_before: before.status,
          status_after: after.status,
          message: `job ${jobId} finished (${after.raw_status}) before the cancel took effect`,
          ...recordOf(after),
        };
      }
      return {
        outcome: 'cancel_requested',
        status_before: before.status,
        status_after: after.status,
        message: `the runtime accepted the cancel of ${jobId}; it still reports ${after.raw_status} while the job stops`,
        ...recordOf(after),
      };
    }
    if (res.status >= 400 && res.status < 500 && res.status !== 401 && res.status !== 403 && res.status !== 429) {
      const after = await read(jobId, ctx.signal);
      if (!after.found)
        return { outcome: 'not_found', status_before: before.status, status_after: 'unknown', message: `job ${jobId} no longer exists` };
      if (isTerminal(after.status)) {
        return {
          outcome: 'already_terminal',
          status_before: before.status,
          status_after: after.status,
          message: `job ${jobId} had already finished (${after.raw_status}); nothing was cancelled`,
          ...recordOf(after),
        };
      }
    }
    throw unexpectedStatus(name, res);
  }

  /**
   * Newest first, by the runtime's own cursor (it pages by key, so new jobs shift nothing). The runtime
   * filters on one status word; for several, the pages are filtered here.
   */
  async function list(q: ListQuery): Promise<ListPage> {
    const position = positionOf(positionSchema, q.position);
    const status = singleRawFilter(q.statuses, RAW_WORDS);
    const filteredHere = q.statuses !== undefined && status === undefined;
    const size = filteredHere ? 100 : q.limit;
    let cursor = position?.cursor;
    let skip = position?.skip ?? 0;
    const after = position?.after;
    const jobs: ListedJob[] = [];
    for (let pages = 0; pages < (filteredHere ? 5 : 1); pages++) {
      const res = await http.call({
        action: 'list_jobs',
        method: 'GET',
        path: ['projects', project, 'jobs'],
        query: { limit: size, ...(cursor !== undefined ? { cursor } : {}), ...(status !== undefined ? { status } : {}) },
        signal: q.signal,
      });
      if (res.status !== 200) throw unexpectedStatus(name, res);
      const body = listSchema.safeParse(parseJson(name, res));
      const items = body.success ? z.array(jobSchema).safeParse(body.data.data) : undefined;
      if (!body.success || !items?.success || items.data.some((j) => j.id === undefined))
        throw unexpectedShape(name, res, 'a list of jobs');
      const next = cursorOf(body.data.page_info?.next);
      if (pages === 0 && after !== undefined) {
        const at = items.data.findIndex((j) => j.id === after);
        if (at >= 0) skip = at + 1;
      }
      for (let i = skip; i < items.data.length; i++) {
        const report = toReport(items.data[i]!);
        if (!keeps(q.statuses, report)) continue;
        jobs.push({ job_id: items.data[i]!.id!, ...report });
        if (jobs.length === q.limit) {
          if (i < items.data.length - 1)
            return { jobs, next: { ...(cursor !== undefined ? { cursor } : {}), skip: i + 1, after: items.data[i]!.id! } };
          return { jobs, next: next !== undefined ? { cursor: next, skip: 0 } : undefined };
        }
      }
      if (next === undefined) return { jobs, next: undefined };
      cursor = next;
      skip = 0;
    }
    return { jobs, next: { cursor, skip: 0 } };
  }

  return {
    kind: 'project_runtime',
    name,
    validateJobId,
    getStatus,
    cancel,
    list,
    close: () => http.close(),
  };
}

/** `page_info.next` as a cursor: the runtime's opaque string, or the `cursor` parameter of a next-page URL. */
function cursorOf(next: string | null | undefined): string | undefined {
  if (next === null || next === undefined || next === '') return undefined;
  if (/^https?:\/\//i.test(next)) {
    try {
      return new URL(next).searchParams.get('cursor') ?? undefined;
    } catch {
      return undefined;
    }
  }
  return next;
}
