// Adapter for ComfyControl cloud workflows (docs/backends.md, ComfyControl).
//   status: GET  {base}/v1/workflow/{id}
//   cancel: POST {base}/v1/workflow/{id}/cancel -> 200 with an empty body; the stop is asynchronous
//   list:   GET  {base}/v1/workflow?page&per_page=10..100 -> {workflows, total}, newest first, no filters
// Cancel is not idempotent (400 for terminal jobs and for `accepted`/`uploaded` ones), so every 400 is
// followed by a read that tells `already_terminal` from `not_cancellable`.
// ComfyControl sits behind Cloudflare with a per-IP limit (40 requests / 10 s, then a 10 s cooldown),
// so this adapter spends a request budget kept in the state store (budget.ts: one budget
// for every replica) and never spends more than it has; after a 429 every replica stays quiet for the
// Retry-After time (or 10 s). Reads are not retried: a retry would spend budget nobody counted.
import * as z from 'zod';
import type { ComfycontrolBackendConfig } from './config.ts';
import type { ComfycontrolDetails } from './details.ts';
import { BackendError, isBackendError } from '../../jobs/backend-error.ts';
import {
  assertJobId,
  jobIdRule,
  SAFE_JOB_ID,
  type BackendCallContext,
  type BackendCancelContext,
  type JobBackend,
} from '../../jobs/backend.ts';
import { compact, numberOf, tagsOf, textOf } from '../../jobs/details.ts';
import { keeps, offsetPositionSchema, positionOf, walkOffsetPages, type ListPage, type ListQuery } from '../../jobs/listing.ts';
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
import { createRequestBudget } from '../http/request-budget.ts';
import {
  answerForAnotherJob,
  createHttpClient,
  isAnswerFor,
  parseJson,
  retryAfterSeconds,
  unexpectedShape,
  unexpectedStatus,
  type HttpRequest,
  type HttpResponse,
} from '../http/http-client.ts';

// ComfyControl does not document its id format (the examples are UUIDs). Accept the URL-safe ids of
// SAFE_JOB_ID: letters, digits, "_" and "-", starting with a letter or digit, up to 128 characters.
const validateJobId = jobIdRule({ what: 'A ComfyControl workflow id', ...SAFE_JOB_ID });

const STATUS_MAP: Readonly<Record<string, JobStatus>> = {
  accepted: 'queued',
  uploaded: 'queued',
  queued: 'queued',
  running: 'running',
  completed: 'succeeded',
  failed: 'failed',
  invalid: 'failed', // rejected at validation; it never ran
  cancelled: 'cancelled',
  canceled: 'cancelled', // the docs spell it `cancelled`; tolerate the other spelling
};
/** Raw words the backend refuses to cancel although the job is not finished. */
const NOT_CANCELLABLE_YET = new Set(['accepted', 'uploaded']);

/** Default cooldown after a 429 without Retry-After: ComfyControl documents 10 s. */
const DEFAULT_COOLDOWN_S = 10;

const time = z.union([z.string(), z.number()]).nullable().optional();
const workflowSchema = z.looseObject({
  id: z.string().optional(),
  status: z.string(),
  error_node: z.union([z.string(), z.number()]).nullable().optional(),
  exception_type: z.string().nullable().optional(),
  exception_message: z.string().nullable().optional(),
  created_at: time,
  started_at: time,
  completed_at: time,
});
type Workflow = z.infer<typeof workflowSchema>;
const listSchema = z.looseObject({ workflows: z.array(workflowSchema), total: z.number().optional() });
/** The largest page ComfyControl serves: a listing spends as few requests of the budget as it can. */
const PER_PAGE = 100;

export function createComfycontrolBackend(config: ComfycontrolBackendConfig, options: AdapterOptions): JobBackend<'comfycontrol'> {
  const name = options.name;
  const http = createHttpClient({
    name,
    baseUrl: config.base_url,
    headers: { authorization: `Bearer ${config.token}` },
    timeoutMs: config.timeout_ms ?? options.timeoutMs,
    retryReads: false,
    observe: options.observe,
    trace: options.trace,
  });
  const requests = config.rate_limit?.requests ?? 40;
  const budget = createRequestBudget(options.state, {
    kind: 'comfycontrol',
    name,
    requests,
    perSeconds: config.rate_limit?.per_seconds ?? 10,
  });
  const lastAnswers = createAnswerMemo<JobStatusReport>();

  /** One call, paid for now unless `prepaid`; a 429 starts the cooldown (for every replica) and becomes RATE_LIMITED. */
  async function call(req: HttpRequest, prepaid = false): Promise<HttpResponse> {
    if (!prepaid) await budget.take(1);
    const res = await http.call(req);
    if (res.status === 429) {
      const s = retryAfterSeconds(res) ?? DEFAULT_COOLDOWN_S;
      await budget.cooldown(s).catch(() => {}); // the answer stays RATE_LIMITED whatever the store does
      throw new BackendError('RATE_LIMITED', `Backend "${name}" is rate limiting the gateway (HTTP 429); retry after ${s} s.`, {
        httpStatus: 429,
        retryAfterSeconds: s,
        detail: res.redactedExcerpt() || undefined,
      });
    }
    return res;
  }

  // --- mapping -----------------------------------------------------------------------------------
  function toReport(wf: Workflow): JobStatusReport {
    const raw = wf.status;
    const word = raw.toLowerCase();
    // An unlisted word is kept verbatim and reported as `unknown` (found): the gateway does not guess.
    const status = STATUS_MAP[word] ?? 'unknown';
    const name = textOf(wf.name);
    const details = compact<ComfycontrolDetails>({
      tags: tagsOf(wf.tags),
      user_runner_id: textOf(wf.user_runner_id),
      managed_runner_id: textOf(wf.managed_runner_id),
      prompt_id: textOf(wf.prompt_id),
      queue_number: numberOf(wf.queue_number),
    });
    const error = errorOf(wf, word);
    return {
      found: true,
      status,
      raw_status: raw,
      ...timesOf({ created: wf.created_at, started: wf.started_at, completed: wf.completed_at }),
      ...(name !== undefined ? { name } : {}),
      ...(details ? { details } : {}),
      ...(error ? { error } : {}),
    };
  }

  function errorOf(wf: Workflow, word: string): JobError | undefined {
    if (word === 'failed') {
      return {
        message: (wf.exception_message || 'the workflow failed (ComfyControl gave no exception message)').slice(0, 2000),
        ...(wf.exception_type ? { type: wf.exception_type.slice(0, 200) } : {}),
        ...(wf.error_node !== null && wf.error_node !== undefined && wf.error_node !== ''
          ? { node: String(wf.error_node).slice(0, 200) }
          : {}),
      };
    }
    if (word === 'invalid') {
      return {
        message: (wf.exception_message || 'ComfyControl rejected the workflow as invalid; it never ran').slice(0, 2000),
        type: (wf.exception_type || 'invalid').slice(0, 200),
      };
    }
    return undefined;
  }

  /** The workflow in a read answer; one that names another workflow is refused, never reported as this one. */
  function parseWorkflow(res: HttpResponse, jobId: string): Workflow {
    const parsed = workflowSchema.safeParse(parseJson(name, res));
    if (!parsed.success) throw unexpectedShape(name, res, 'a workflow');
    if (!isAnswerFor(jobId, parsed.data.id)) throw answerForAnotherJob(name, res);
    return parsed.data;
  }

  // 404 is "not found or not yours". The docs also list 403 for "resource belongs to another user"
  // next to tier and permission errors; a 403 whose message says so is treated as not found, any other
  // 403 is a credential problem (BACKEND_AUTH).
  const OTHER_USER = /(another|other|different)\s+user|not\s+(yours|your\s+own)|belongs?\s+to/i;
  function isForeign(res: HttpResponse): boolean {
    if (res.status !== 403) return false;
    try {
      const m = (JSON.parse(res.text) as { message?: unknown }).message;
      return typeof m === 'string' && OTHER_USER.test(m);
    } catch {
      return false;
    }
  }

  /** The documented cancel answer is empty; should one carry a workflow `id`, it must be this one. */
  function cancelAnswerIsFor(jobId: string, res: HttpResponse): boolean {
    try {
      const body = JSON.parse(res.text) as unknown;
      return body === null || typeof body !== 'object' || isAnswerFor(jobId, (body as { id?: unknown }).id);
    } catch {
      return true; // empty or not JSON: nothing that names a job
    }
  }

  async function read(jobId: string, signal: AbortSignal, prepaid = false): Promise<JobStatusReport> {
    const res = await call({ action: 'get_job', method: 'GET', path: ['v1', 'workflow', jobId], jobId, signal }, prepaid);
    if (res.status === 200) return lastAnswers.reuse(jobId, res.text, () => toReport(parseWorkflow(res, jobId)));
    if (res.status === 404 || isForeign(res)) return notFoundReport();
    throw unexpectedStatus(name, res);
  }

  async function getStatus(jobId: string, ctx: BackendCallContext): Promise<JobStatusReport> {
    assertJobId(validateJobId, jobId);
    return read(jobId, ctx.signal);
  }

  async function cancel(jobId: string, ctx: BackendCancelContext): Promise<CancelReport> {
    assertJobId(validateJobId, jobId);
    // A cancel needs at least a read and the POST; do not start one the budget cannot finish.
    // Both are paid for at once, so a cancel never stops between them for want of budget.
    const prepaid = Math.min(2, requests);
    await budget.take(prepaid);
    const before = await read(jobId, ctx.signal, true);
    if (!before.found)
      return {
        outcome: 'not_found',
        status_before: 'unknown',
        status_after: 'unknown',
        message: `ComfyControl has no workflow ${jobId} (or it belongs to another user)`,
      };
    if (isTerminal(before.status)) {
      return {
        outcome: 'already_terminal',
        status_before: before.status,
        status_after: before.status,
        message: `workflow ${jobId} had already finished (${before.raw_status}); nothing was cancelled`,
        ...recordOf(before),
      };
    }
    // `accepted`/`uploaded` jobs are refused with 400, but the status read may be stale by the time the
    // POST arrives (uploaded -> queued takes seconds), so the backend decides.
    const res = await call(
      { action: 'cancel_job', method: 'POST', path: ['v1', 'workflow', jobId, 'cancel'], jobId, signal: ctx.signal },
      prepaid === 2,
    );

    if (res.status >= 200 && res.status < 300) {
      // 200 with an empty body: the runner was signalled; the status flips "after a few seconds".
      // A body that names another workflow confirms nothing about this one.
      if (!cancelAnswerIsFor(jobId, res)) throw answerForAnotherJob(name, res);
      let after: JobStatusReport;
      try {
        after = await read(jobId, ctx.signal);
      } catch (e) {
        if (ctx.signal.aborted) throw e;
        return {
          outcome: 'cancel_requested',
          status_before: before.status,
          status_after: before.status,
          message: `ComfyControl accepted the cancel of ${jobId}; the follow-up status read failed (${isBackendError(e) ? e.code : 'error'}), check again in a few seconds`,
          ...recordOf(before),
        };
      }
      if (after.status === 'cancelled')
        return {
          outcome: 'cancelled',
          status_before: before.status,
          status_after: 'cancelled',
          message: `workflow ${jobId} is cancelled`,
          ...recordOf(after),
        };
      if (isTerminal(after.status)) {
        return {
          outcome: 'already_terminal',
          status_before: before.status,
          status_after: after.status,
          message: `workflow ${jobId} finished (${after.raw_status}) before the cancel took effect`,
          ...recordOf(after),
        };
      }
      return {
        outcome: 'cancel_requested',
        status_before: before.status,
        status_after: after.status,
        message: `ComfyControl signalled the runner to stop ${jobId}; the status changes to cancelled after a few seconds unless it completes first`,
        ...recordOf(after),
      };
    }
    if (res.status === 400) {
      let after: JobStatusReport;
      try {
        after = await read(jobId, ctx.signal);
      } catch (e) {
        // Without a fresh read, fall back on the read made just before.
        if (ctx.signal.aborted || !NOT_CANCELLABLE_YET.has((before.raw_status ?? '').toLowerCase())) throw e;
        after = before;
      }
      if (!after.found)
        return {
          outcome: 'not_found',
          status_before: before.status,
          status_after: 'unknown',
          message: `workflow ${jobId} no longer exists`,
        };
      if (isTerminal(after.status)) {
        return {
          outcome: 'already_terminal',
          status_before: before.status,
          status_after: after.status,
          message: `workflow ${jobId} had already finished (${after.raw_status}); nothing was cancelled`,
          ...recordOf(after),
        };
      }
      if (NOT_CANCELLABLE_YET.has((after.raw_status ?? '').toLowerCase())) {
        return {
          outcome: 'not_cancellable',
          status_before: before.status,
          status_after: after.status,
          message: `ComfyControl cannot cancel workflow ${jobId} while it is ${after.raw_status}; retry once it is queued`,
          ...recordOf(after),
        };
      }
      throw unexpectedStatus(name, res);
    }
    if (res.status === 404 || isForeign(res)) {
      return {
        outcome: 'not_found',
        status_before: before.status,
        status_after: 'unknown',
        message: `workflow ${jobId} disappeared before it could be cancelled`,
      };
    }
    // 500: the runner is unreachable (retryable) -> BACKEND_UNAVAILABLE; 401/403 -> BACKEND_AUTH.
    throw unexpectedStatus(name, res);
  }

  /**
   * Newest first. ComfyControl has no status filter, so a filtered listing is filtered here, reading
   * at most 3 pages (of the request budget) per call; an offset maps onto its page numbers.
   */
  async function list(q: ListQuery): Promise<ListPage> {
    return walkOffsetPages({
      position: positionOf(offsetPositionSchema, q.position),
      limit: q.limit,
      maxPages: q.statuses !== undefined ? 3 : 2,
      fetch: async (offset) => {
        const page = Math.floor(offset / PER_PAGE) + 1;
        const res = await call({
          action: 'list_jobs',
          method: 'GET',
          path: ['v1', 'workflow'],
          query: { page, per_page: PER_PAGE },
          signal: q.signal,
        });
        if (res.status !== 200) throw unexpectedStatus(name, res);
        const body = listSchema.safeParse(parseJson(name, res));
        if (!body.success || body.data.workflows.some((w) => w.id === undefined)) throw unexpectedShape(name, res, 'a list of workflows');
        const items = body.data.workflows.slice(offset % PER_PAGE);
        const total = body.data.total;
        return { items, hasMore: total !== undefined ? page * PER_PAGE < total : body.data.workflows.length === PER_PAGE };
      },
      toJob: (wf) => {
        const report = toReport(wf);
        return keeps(q.statuses, report) ? { job_id: wf.id!, ...report } : undefined;
      },
    });
  }

  return {
    kind: 'comfycontrol',
    name,
    validateJobId,
    getStatus,
    cancel,
    list,
    close: () => http.close(),
  };
}
