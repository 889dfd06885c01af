// Adapter for the AI Connect agent-jobs service (docs/backends.md, agent-jobs).
//   status: GET    {base}/services/agent-jobs/{job_id}[?org_id=]
//   cancel: DELETE {base}/services/agent-jobs/{job_id} with optional JSON body {reason}
//   list:   GET    {base}/services/agent-jobs?limit&offset&sort=created_at:desc[&status=][&org_id=]
// The service is not idempotent (409 for a terminal job) and its cancel answer carries no job record,
// so cancel = read, DELETE, read again; a 409 becomes `already_terminal` after a read.
import * as z from 'zod';
import type { AgentJobsBackendConfig } from './config.ts';
import type { AgentJobsDetails } from './details.ts';
import { isBackendError } from '../../jobs/backend-error.ts';
import {
  assertJobId,
  jobIdRule,
  SAFE_JOB_ID,
  type BackendCallContext,
  type BackendCancelContext,
  type JobBackend,
} from '../../jobs/backend.ts';
import { compact, countOf, tagsOf, textOf } from '../../jobs/details.ts';
import {
  keeps,
  offsetPositionSchema,
  positionOf,
  singleRawFilter,
  walkOffsetPages,
  type ListPage,
  type ListQuery,
} from '../../jobs/listing.ts';
import {
  isTerminal,
  notFoundReport,
  recordOf,
  timesOf,
  toIsoTime,
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

// The id format is undocumented (the docs' example is `job123`, the seeds are UUIDs). Accept the
// URL-safe ids of SAFE_JOB_ID: letters, digits, "_" and "-", starting with a letter or digit, up to 128.
const validateJobId = jobIdRule({ what: 'An agent-jobs job id', ...SAFE_JOB_ID });

// Status words compared case-insensitively: the docs say UPPERCASE, the MCP tool and fixtures lowercase.
const STATUS_MAP: Readonly<Record<string, JobStatus>> = {
  waiting: 'queued',
  scheduled: 'queued',
  running: 'running',
  completed: 'succeeded',
  failed: 'failed',
  canceled: 'cancelled',
  cancelled: 'cancelled', // not seen, but a harmless spelling to accept
};
/** The list filter's word for each unified status (the docs' UPPERCASE). */
const RAW_WORDS: Partial<Record<JobStatus, readonly string[]>> = {
  queued: ['WAITING', 'SCHEDULED'],
  running: ['RUNNING'],
  succeeded: ['COMPLETED'],
  failed: ['FAILED'],
  cancelled: ['CANCELED'],
};

const timeValue = z.union([z.string(), z.number()]).nullable().optional();
const anything = z.unknown().optional();
// The fields the adapter reads, and only those: the rest of a record (params, config, execution_log…)
// is dropped unread rather than copied (docs/performance.md).
const jobSchema = z
  .object({
    job_id: z.union([z.string(), z.number()]).optional(),
    job_status: z.string().optional(),
    status: z.string().optional(),
    result: anything,
    created_at: timeValue,
    updated_at: timeValue,
    started_at: timeValue,
    completed_at: timeValue,
    tasks: z
      .array(z.object({ created_at: timeValue, result: anything }))
      .nullable()
      .optional(),
    // details (checked where they are read: details.ts)
    job_type_id: anything,
    channel_code: anything,
    scheduled_at: anything,
    last_task_created_at: anything,
    tags: anything,
    tasks_count: anything,
  })
  .refine((j) => typeof (j.job_status ?? j.status) === 'string', { message: 'no job_status' });
type AgentJob = z.infer<typeof jobSchema>;
const listSchema = z.looseObject({
  data: z.array(z.unknown()),
  meta: z.looseObject({ total: z.number().optional() }).optional(),
});

const errorBodySchema = z.looseObject({ message: z.unknown().optional(), error: z.unknown().optional() });
/** Whether the envelope's meta, if any, names the job asked for (its id is `meta.id` on a read and `meta.job_id` on a cancel). */
function metaIsFor(jobId: string, body: unknown): boolean {
  const meta = body !== null && typeof body === 'object' ? (body as { meta?: unknown }).meta : undefined;
  if (meta === null || typeof meta !== 'object') return true;
  const { id, job_id } = meta as { id?: unknown; job_id?: unknown };
  return isAnswerFor(jobId, id) && isAnswerFor(jobId, job_id);
}

export function createAgentJobsBackend(config: AgentJobsBackendConfig, options: AdapterOptions): JobBackend<'agent_jobs'> {
  const name = options.name;
  const http = createHttpClient({
    name,
    baseUrl: config.base_url,
    headers: { authorization: `Bearer ${config.api_key}`, 'x-client-type': 'mcp' },
    timeoutMs: config.timeout_ms ?? options.timeoutMs,
    observe: options.observe,
    trace: options.trace,
  });
  const query = config.org_id !== undefined ? { org_id: config.org_id } : {};
  const jobPath = (id: string): string[] => ['services', 'agent-jobs', id];
  const lastAnswers = createAnswerMemo<JobStatusReport>();

  function toReport(job: AgentJob): JobStatusReport {
    const raw = (job.job_status ?? job.status) as string;
    // A word outside the documented vocabulary is reported as `unknown` with the backend's word kept:
    // the job exists (found), but the gateway will not guess what the word means.
    const status = STATUS_MAP[raw.toLowerCase()] ?? 'unknown';
    // The record has no start time; its first task is created when the job starts running. An explicit
    // `started_at`, should the service ever add one, wins.
    const taskStarts = (job.tasks ?? [])
      .map((t) => toIsoTime(t.created_at))
      .filter((t): t is string => t !== undefined)
      .sort();
    const details = compact<AgentJobsDetails>({
      job_type_id: textOf(job.job_type_id),
      channel_code: textOf(job.channel_code),
      scheduled_at: toIsoTime(job.scheduled_at),
      tasks_count: Array.isArray(job.tasks) ? job.tasks.length : countOf(job.tasks_count),
      last_task_created_at: toIsoTime(job.last_task_created_at),
      tags: tagsOf(job.tags),
    });
    return {
      found: true,
      status,
      raw_status: raw,
      ...timesOf({
        created: job.created_at,
        started: toIsoTime(job.started_at) ?? (status !== 'queued' ? taskStarts[0] : undefined),
        // Nor an end time: `updated_at` of a terminal job is when it became terminal.
        completed: isTerminal(status) ? (toIsoTime(job.completed_at) ?? toIsoTime(job.updated_at)) : undefined,
      }),
      ...(details ? { details } : {}),
      ...(status === 'failed' ? { error: failureOf(job) } : {}),
    };
  }

  function failureOf(job: AgentJob): JobError {
    const lastTaskResult = [...(job.tasks ?? [])].reverse().find((t) => typeof t.result === 'string' && t.result !== '')?.result as
      string | undefined;
    const message =
      typeof job.result === 'string' && job.result !== ''
        ? job.result
        : (lastTaskResult ?? 'the agent job failed (the service gave no result text)');
    return { message: message.slice(0, 2000) };
  }

  function parseJob(res: HttpResponse, jobId: string): AgentJob {
    const body = parseJson(name, res);
    // agentjobs-mcp unwraps `response.data.data || response.data`; do the same.
    const candidate = body !== null && typeof body === 'object' && 'data' in body ? body.data : body;
    const parsed = jobSchema.safeParse(candidate);
    if (!parsed.success) throw unexpectedShape(name, res, 'an agent job');
    if (!isAnswerFor(jobId, parsed.data.job_id) || !metaIsFor(jobId, body)) throw answerForAnotherJob(name, res);
    return parsed.data;
  }

  function errorMessage(res: HttpResponse): string {
    try {
      const parsed = errorBodySchema.safeParse(JSON.parse(res.text));
      if (parsed.success) {
        const m = parsed.data.message ?? parsed.data.error;
        if (typeof m === 'string') return m;
      }
    } catch {
      /* not JSON */
    }
    return res.text.slice(0, 500);
  }

  // A 403 on a job means either "job belongs to a different organization" (documented) or a credential
  // problem (a key without READ access to the SERVICES scope, or without access to the configured
  // org_id). The first is reported as not found (the caller must not learn about other organizations'
  // jobs); the second is BACKEND_AUTH. The message is the first clue; when it does not name another
  // organization, a cheap credential probe decides: if the same key may list this organization's jobs,
  // the key is fine and the 403 was about the job.
  const OTHER_ORG = /(different|another|other)\s+organi[sz]ation|belongs?\s+to\s+(a|an)\s+(different|another|other)/i;
  async function forbiddenMeansNotFound(res: HttpResponse, signal: AbortSignal): Promise<boolean> {
    if (OTHER_ORG.test(errorMessage(res))) return true;
    const probe = await http.call({
      action: 'check_credentials',
      method: 'GET',
      path: ['services', 'agent-jobs'],
      query: { ...query, limit: 1 },
      signal,
    });
    if (probe.status === 200) return true;
    if (probe.status === 401 || probe.status === 403) return false;
    throw unexpectedStatus(name, probe);
  }

  async function read(jobId: string, signal: AbortSignal): Promise<JobStatusReport> {
    const res = await http.call({ action: 'get_job', method: 'GET', path: jobPath(jobId), jobId, query, signal });
    if (res.status === 200) return lastAnswers.reuse(jobId, res.text, () => toReport(parseJob(res, jobId)));
    if (res.status === 404) return notFoundReport();
    if (res.status === 403 && (await forbiddenMeansNotFound(res, signal))) return notFoundReport();
    throw unexpectedStatus(name, res);
  }

  async function getStatus(jobId: string, ctx: BackendCallContext): Promise<JobStatusReport> {
    assertJobId(validateJobId, jobId);
    return read(jobId, ctx.signal);
  }

  /** The report of a cancel that found the job already ended (`job`: the read that showed it). */
  function alreadyFinished(jobId: string, statusBefore: JobStatus, job: JobStatusReport): CancelReport {
    return {
      outcome: 'already_terminal',
      status_before: statusBefore,
      status_after: job.status,
      message: `agent job ${jobId} had already finished (${job.raw_status}); nothing was cancelled`,
      ...recordOf(job),
    };
  }

  async function cancel(jobId: string, ctx: BackendCancelContext): Promise<CancelReport> {
    assertJobId(validateJobId, jobId);
    const before = await read(jobId, ctx.signal);
    if (!before.found) {
      return {
        outcome: 'not_found',
        status_before: 'unknown',
        status_after: 'unknown',
        message: `agent job ${jobId} does not exist (or belongs to another organization)`,
      };
    }
    if (isTerminal(before.status)) return alreadyFinished(jobId, before.status, before);
    // The reason travels in a DELETE body, as the service documents; some proxies drop DELETE bodies.
    const res = await http.call({
      action: 'cancel_job',
      method: 'DELETE',
      path: jobPath(jobId),
      jobId,
      query,
      ...(ctx.reason !== undefined && ctx.reason !== '' ? { json: { reason: ctx.reason } } : {}),
      signal: ctx.signal,
    });

    if (res.status >= 200 && res.status < 300) {
      // The answer is `{meta, message}` without the job; a body that is not JSON means something other
      // than the service answered, so the cancel cannot be claimed.
      if (res.status !== 204) {
        const body = parseJson(name, res);
        if (body !== undefined && (body === null || typeof body !== 'object')) throw unexpectedShape(name, res, 'a cancel confirmation');
        // An answer about another job is no confirmation of this one.
        if (!metaIsFor(jobId, body)) throw answerForAnotherJob(name, res);
      }
      let after: JobStatusReport;
      try {
        after = await read(jobId, ctx.signal);
      } catch (e) {
        if (ctx.signal.aborted) throw e;
        // The cancel was accepted; only the confirmation failed. Report what is known.
        return {
          outcome: 'cancel_requested',
          status_before: before.status,
          status_after: before.status,
          message: `the agent-jobs service accepted the cancel of ${jobId}, but the follow-up status read failed (${isBackendError(e) ? e.code : 'error'}); check again with get_job_status`,
          ...recordOf(before),
        };
      }
      if (after.status === 'cancelled') {
        return {
          outcome: 'cancelled',
          status_before: before.status,
          status_after: 'cancelled',
          message: `agent job ${jobId} is now ${after.raw_status}`,
          ...recordOf(after),
        };
      }
      if (isTerminal(after.status)) {
        return {
          outcome: 'already_terminal',
          status_before: before.status,
          status_after: after.status,
          message: `agent job ${jobId} finished (${after.raw_status}) before the cancel took effect`,
          ...recordOf(after),
        };
      }
      return {
        outcome: 'cancel_requested',
        status_before: before.status,
        status_after: after.status,
        message: `the agent-jobs service accepted the cancel of ${jobId}; it still reports ${after.raw_status ?? 'no status'}`,
        ...recordOf(after),
      };
    }
    if (res.status === 404) {
      return {
        outcome: 'not_found',
        status_before: before.status,
        status_after: 'unknown',
        message: `agent job ${jobId} disappeared before it could be cancelled`,
      };
    }
    if (res.status === 409) {
      // Not idempotent: a terminal job answers 409. Read it to say how it ended.
      const after = await read(jobId, ctx.signal);
      if (!after.found)
        return {
          outcome: 'not_found',
          status_before: before.status,
          status_after: 'unknown',
          message: `agent job ${jobId} no longer exists`,
        };
      if (isTerminal(after.status)) return alreadyFinished(jobId, before.status, after);
      throw unexpectedStatus(name, res);
    }
    // A 403 here is about the key: the job was just read, so it is this organization's, and the key
    // lacks WRITE access to the SERVICES scope. unexpectedStatus maps it to BACKEND_AUTH.
    throw unexpectedStatus(name, res);
  }

  /** Newest first; one raw status word is filtered by the service, several (queued) here. */
  async function list(q: ListQuery): Promise<ListPage> {
    const position = positionOf(offsetPositionSchema, q.position);
    const status = singleRawFilter(q.statuses, RAW_WORDS);
    const filteredHere = q.statuses !== undefined && status === undefined;
    const size = filteredHere ? 100 : q.limit;
    const page = await walkOffsetPages({
      position,
      limit: q.limit,
      // A page may hold only jobs listed already (newer ones pushed them down), so a second read is allowed.
      maxPages: filteredHere ? 5 : 2,
      fetch: async (offset) => {
        const res = await http.call({
          action: 'list_jobs',
          method: 'GET',
          path: ['services', 'agent-jobs'],
          query: { ...query, limit: size, offset, sort: 'created_at:desc', ...(status !== undefined ? { status } : {}) },
          signal: q.signal,
        });
        if (res.status !== 200) throw unexpectedStatus(name, res);
        const body = listSchema.safeParse(parseJson(name, res));
        const jobs = body.success ? z.array(jobSchema).safeParse(body.data.data) : undefined;
        if (!body.success || !jobs?.success || jobs.data.some((j) => j.job_id === undefined))
          throw unexpectedShape(name, res, 'a list of agent jobs');
        const total = body.data.meta?.total;
        return { items: jobs.data, hasMore: total !== undefined ? offset + jobs.data.length < total : jobs.data.length === size };
      },
      toJob: (job) => {
        const report = toReport(job);
        // The service's filter is trusted only as far as the mapping agrees with it.
        return keeps(q.statuses, report) ? { job_id: String(job.job_id), ...report } : undefined;
      },
    });
    return page;
  }

  return {
    kind: 'agent_jobs',
    name,
    validateJobId,
    getStatus,
    cancel,
    list,
    close: () => http.close(),
  };
}
