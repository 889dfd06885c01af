// The adapter of kind `http_jobs`: any HTTP job API, driven by its profile (profile.ts). What the
// profile cannot change, because it is what makes an answer honest:
// - a job id is checked before any URL is built, and sent as one percent-encoded path segment;
// - an answer that names another job is refused (BACKEND_UNAVAILABLE), never taken as this one's;
// - a status word the profile does not map reads `unknown` with `found: true` and the word kept; a
//   status the answer does not hold is BACKEND_REJECTED; neither is ever guessed;
// - a cancel reads the job first (a finished job answers `already_terminal`, and nothing is sent),
//   then asks, then reads the job again to say what really happened: `cancelled` only when the API
//   says the job is cancelled;
// - only the named job is touched, and a backend's own words reach the log only (http-client.ts).
import { JsonPointer } from 'json-ptr';
import { BackendError, isBackendError } from '../../jobs/backend-error.ts';
import { assertJobId, jobIdRule, type BackendCallContext, type BackendCancelContext, type JobBackend } from '../../jobs/backend.ts';
import { badPosition, keeps, positionOf, type ListedJob, type ListPage, type ListQuery } from '../../jobs/listing.ts';
import {
  isTerminal,
  notFoundReport,
  recordOf,
  timesOf,
  type CancelOutcome,
  type CancelReport,
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
  retryAfterSeconds,
  unexpectedShape,
  unexpectedStatus,
  type HttpRequest,
  type HttpResponse,
} from '../http/http-client.ts';
import { createRequestBudget } from '../http/request-budget.ts';
import type { HttpJobsBackendConfig } from './config.ts';
import { resolveProfile } from './profiles.ts';
import type { Profile, ProfileRequest } from './profile.ts';
import * as z from 'zod';

/** Longest text kept of a field (a name, a detail); a failed job's error text is kept longer, as elsewhere. */
const MAX_TEXT = 200;
const MAX_ERROR = 2000;
/** Default cooldown after a 429 without Retry-After, when the profile has a request budget. */
const DEFAULT_COOLDOWN_S = 10;

export function createHttpJobsBackend(config: HttpJobsBackendConfig, options: AdapterOptions): JobBackend<'http_jobs'> {
  const name = options.name;
  const profile = resolveProfile(config);
  const base = new URL(config.base_url.endsWith('/') ? config.base_url : `${config.base_url}/`);
  const fixedQuery = config.query ?? {};
  const http = createHttpClient({
    name,
    baseUrl: config.base_url,
    headers: config.headers ?? {},
    timeoutMs: config.timeout_ms ?? options.timeoutMs,
    // Reads are retried once on 502/503/504 unless every request is counted against a budget.
    retryReads: profile.rate_limit === undefined,
    observe: options.observe,
    trace: options.trace,
  });
  const budget = profile.rate_limit
    ? createRequestBudget(options.state, {
        kind: 'http_jobs',
        name,
        requests: profile.rate_limit.requests,
        perSeconds: profile.rate_limit.per_seconds,
      })
    : undefined;
  const lastAnswers = createAnswerMemo<JobStatusReport>();
  const idRule = profile.job_id;
  const validateJobId = idRule
    ? jobIdRule({
        what: `A job id of backend "${name}"`,
        pattern: new RegExp(`^(?:${idRule.pattern})$`),
        maxLength: idRule.max_length,
        hint: idRule.hint ?? `must match ${idRule.pattern}`,
      })
    : jobIdRule({
        what: `A job id of backend "${name}"`,
        pattern: /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/,
        maxLength: 128,
        hint: 'may contain only letters, digits, "_", ".", ":" and "-"',
      });

  /** One call, paid from the budget when there is one; a 429 there makes every replica wait. */
  async function call(req: HttpRequest): Promise<HttpResponse> {
    await budget?.take(1);
    const res = await http.call(req);
    if (res.status === 429 && budget) {
      const s = retryAfterSeconds(res) ?? DEFAULT_COOLDOWN_S;
      await budget.cooldown(s).catch(() => {});
    }
    return res;
  }

  function request(action: string, spec: ProfileRequest, jobId: string | undefined, signal: AbortSignal): HttpRequest {
    const path = spec.path
      .split('/')
      .filter((s) => s !== '')
      .map((s) => (s === '{id}' ? jobId! : decodeURIComponent(s)));
    return {
      action,
      method: spec.method,
      path,
      ...(jobId !== undefined ? { jobId } : {}),
      query: { ...fixedQuery, ...spec.query },
      signal,
    };
  }

  const get = (body: unknown, p: string | undefined): unknown => (p === undefined ? undefined : JsonPointer.get(body as object, p));
  const words = new Map(Object.entries(profile.status.words).map(([w, s]) => [w.toLowerCase(), s] as const));

  function textAt(body: unknown, p: string | undefined, max = MAX_TEXT): string | undefined {
    const v = get(body, p);
    if (typeof v === 'string') return v === '' ? undefined : v.slice(0, max);
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    if (v !== undefined && v !== null && max === MAX_ERROR) return JSON.stringify(v).slice(0, max);
    return undefined;
  }

  /** One job of an answer, in the unified model; `jobId` (when known) must be the one the answer names. */
  function toReport(body: unknown, res: HttpResponse, jobId: string | undefined): JobStatusReport & { id?: string } {
    const fields = profile.status.fields;
    if (typeof body !== 'object' || body === null) throw unexpectedShape(name, res, 'a job');
    const id = get(body, fields.id);
    if (jobId !== undefined && !isAnswerFor(jobId, id)) throw answerForAnotherJob(name, res);
    const raw = get(body, fields.status);
    if (typeof raw !== 'string' || raw === '') {
      throw new BackendError(
        'BACKEND_REJECTED',
        `Backend "${name}" answered without a status where its profile says the status is (${fields.status}).`,
        {
          httpStatus: res.status,
          detail: res.redactedExcerpt(),
        },
      );
    }
    const status: JobStatus = words.get(raw.toLowerCase()) ?? 'unknown';
    const error = status === 'failed' ? textAt(body, fields.error, MAX_ERROR) : undefined;
    const jobName = textAt(body, fields.name);
    const position = get(body, fields.queue_position);
    const progress = get(body, fields.progress);
    const details: Record<string, string | number | boolean> = {};
    for (const [key, p] of Object.entries(fields.details ?? {})) {
      const v = get(body, p);
      if (typeof v === 'string' && v !== '') details[key] = v.slice(0, MAX_TEXT);
      else if ((typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean') details[key] = v;
    }
    return {
      found: true,
      status,
      raw_status: raw.slice(0, 64),
      ...timesOf({
        created: get(body, fields.created_at),
        started: get(body, fields.started_at),
        completed: get(body, fields.completed_at),
      }),
      ...(typeof id === 'string' || typeof id === 'number' ? { id: String(id) } : {}),
      ...(jobName !== undefined ? { name: jobName } : {}),
      ...(status === 'queued' && Number.isInteger(position) && (position as number) >= 0 ? { queue_position: position as number } : {}),
      ...(typeof progress === 'number' && Number.isFinite(progress) && progress >= 0
        ? { progress: { value: progress, max: progress > 1 ? 100 : 1 } }
        : {}),
      ...(error !== undefined
        ? { error: { message: error } }
        : status === 'failed'
          ? { error: { message: `the job failed (${name} gave no error text)` } }
          : {}),
      ...(Object.keys(details).length > 0 ? { details } : {}),
    };
  }

  /** For a word that does not tell how the job ended (fal's COMPLETED), the result route's answer says. */
  async function confirmed(report: JobStatusReport, jobId: string, signal: AbortSignal): Promise<JobStatusReport> {
    const rule = profile.status.confirm;
    if (!rule || !rule.words.some((w) => w.toLowerCase() === report.raw_status?.toLowerCase())) return report;
    const res = await call(request('get_result', rule.request, jobId, signal));
    if (res.status >= 500 || res.status === 401 || res.status === 403 || res.status === 429 || res.status < 200)
      throw unexpectedStatus(name, res);
    const body = bodyOf(res);
    const means = matchRule(rule.answers, res, body) ?? (res.status <= 299 ? 'succeeded' : 'failed');
    if (means !== 'failed') return { ...report, status: means };
    const message = textAt(body, rule.error, MAX_ERROR) ?? `the job failed (${name} answered HTTP ${res.status} for its result)`;
    return { ...report, status: 'failed', error: { message } };
  }

  /** A body as JSON, or undefined when it is empty or not JSON (a rule on a field then does not match). */
  function bodyOf(res: HttpResponse): unknown {
    try {
      return res.text.trim() === '' ? undefined : JSON.parse(res.text);
    } catch {
      return undefined;
    }
  }

  /** What the first rule matching the answer says (its status, and its field's word when it names one). */
  function matchRule<M extends string>(
    rules: ReadonlyArray<{ http_status: number[]; field?: string | undefined; words?: string[] | undefined; means: M }>,
    res: HttpResponse,
    body: unknown,
  ): M | undefined {
    for (const rule of rules) {
      if (!rule.http_status.includes(res.status)) continue;
      if (rule.field !== undefined) {
        const v = get(body, rule.field);
        if (typeof v !== 'string' || !(rule.words ?? []).includes(v)) continue;
      }
      return rule.means;
    }
    return undefined;
  }

  async function read(jobId: string, signal: AbortSignal): Promise<JobStatusReport> {
    const res = await call(request('get_job', profile.status.request, jobId, signal));
    if (profile.status.not_found.http_status.includes(res.status)) return notFoundReport();
    if (res.status < 200 || res.status > 299) throw unexpectedStatus(name, res);
    const report = lastAnswers.reuse(jobId, res.text, () => {
      const { id: _id, ...r } = toReport(parseJson(name, res), res, jobId);
      return r;
    });
    return confirmed(report, jobId, signal);
  }

  /**
   * The first cancel rule the answer matches; a 2xx answer no rule names means the API took the
   * request. An answer that names another job (where the profile says a job's id is) is refused.
   */
  function cancelMeaning(
    res: HttpResponse,
    jobId: string,
  ): 'requested' | 'done' | 'already_terminal' | 'not_cancellable' | 'not_found' | undefined {
    const body = bodyOf(res);
    const idField = profile.status.fields.id;
    if (res.status >= 200 && res.status <= 299 && idField !== undefined && typeof body === 'object' && body !== null) {
      if (!isAnswerFor(jobId, get(body, idField))) throw answerForAnotherJob(name, res);
    }
    return matchRule(profile.cancel.answers, res, body) ?? (res.status >= 200 && res.status <= 299 ? 'requested' : undefined);
  }

  function outcomeOf(outcome: CancelOutcome, before: JobStatusReport, after: JobStatusReport, message: string): CancelReport {
    return { outcome, status_before: before.status, status_after: after.status, message, ...recordOf(after.found ? after : before) };
  }

  return {
    kind: 'http_jobs',
    name,
    validateJobId,
    async getStatus(jobId: string, ctx: BackendCallContext): Promise<JobStatusReport> {
      assertJobId(validateJobId, jobId);
      return read(jobId, ctx.signal);
    },
    async cancel(jobId: string, ctx: BackendCancelContext): Promise<CancelReport> {
      assertJobId(validateJobId, jobId);
      const before = await read(jobId, ctx.signal);
      if (!before.found)
        return {
          outcome: 'not_found',
          status_before: 'unknown',
          status_after: 'unknown',
          message: `backend "${name}" has no job ${jobId}`,
        };
      if (isTerminal(before.status))
        return outcomeOf(
          'already_terminal',
          before,
          before,
          `job ${jobId} had already finished (${before.raw_status}); nothing was cancelled`,
        );
      const res = await call(request('cancel_job', profile.cancel.request, jobId, ctx.signal));
      const meaning = cancelMeaning(res, jobId);
      if (meaning === undefined) throw unexpectedStatus(name, res);
      if (meaning === 'not_found')
        return {
          outcome: 'not_found',
          status_before: before.status,
          status_after: 'unknown',
          message: `job ${jobId} disappeared before it could be cancelled`,
        };
      // Whatever the answer said, the job's own status says what happened.
      let after: JobStatusReport;
      try {
        after = await read(jobId, ctx.signal);
      } catch (e) {
        if (ctx.signal.aborted) throw e;
        return outcomeOf(
          'cancel_requested',
          before,
          before,
          `backend "${name}" took the cancel of ${jobId}; the follow-up status read failed (${isBackendError(e) ? e.code : 'error'}), check again in a few seconds`,
        );
      }
      if (after.status === 'cancelled') return outcomeOf('cancelled', before, after, `job ${jobId} is cancelled`);
      if (isTerminal(after.status))
        return outcomeOf('already_terminal', before, after, `job ${jobId} finished (${after.raw_status}) before the cancel took effect`);
      if (!after.found)
        return { outcome: 'not_found', status_before: before.status, status_after: 'unknown', message: `job ${jobId} no longer exists` };
      if (meaning === 'not_cancellable')
        return outcomeOf(
          'not_cancellable',
          before,
          after,
          `backend "${name}" cannot cancel job ${jobId} while it is ${after.raw_status}; retry later`,
        );
      return outcomeOf(
        'cancel_requested',
        before,
        after,
        `backend "${name}" was asked to stop ${jobId}; its status changes to cancelled once it stops`,
      );
    },
    async list(q: ListQuery): Promise<ListPage> {
      const spec = profile.list;
      if (!spec) {
        throw new BackendError(
          'INVALID_ARGUMENT',
          `Backend "${name}" cannot list its jobs: its job API has no list route. Read a job by its id with get_job_status.`,
        );
      }
      let at: Position = { page: { kind: 'first' }, skip: 0 };
      if (q.position !== undefined) {
        const given = positionOf(positionSchema, q.position);
        if (given === undefined) throw badPosition();
        at = given;
      }
      // An API page may hold more jobs than the caller asked for (Replicate's are 100): the position
      // keeps the page and the last job given, and the next call goes on after that job, wherever jobs
      // created meanwhile have moved it. A filtered listing reads up to MAX_PAGES pages to fill its page.
      const jobs: ListedJob[] = [];
      for (let pages = 0; pages < MAX_PAGES; pages++) {
        const page = await readPage(spec, at.page, q);
        const found = at.after === undefined ? -1 : page.items.findIndex((item) => item.job_id === at.after);
        const start = found >= 0 ? found + 1 : at.skip;
        for (let i = start; i < page.items.length; i++) {
          const job = page.items[i]!;
          if (keeps(q.statuses, job)) jobs.push(job);
          if (jobs.length < q.limit) continue;
          if (i + 1 < page.items.length) return { jobs, next: { page: at.page, after: job.job_id, skip: i + 1 } };
          return { jobs, next: page.next ? { page: page.next, skip: 0 } : undefined };
        }
        if (!page.next) return { jobs, next: undefined };
        at = { page: page.next, skip: 0 };
      }
      return { jobs, next: at };
    },
    close: () => http.close(),
  };

  /** One page of the API's list: its jobs, and where the page after it is (undefined: the last). */
  async function readPage(
    spec: NonNullable<Profile['list']>,
    page: Locator,
    q: ListQuery,
  ): Promise<{ items: ListedJob[]; next: Locator | undefined }> {
    const paging = spec.paging;
    let req = request('list_jobs', spec.request, undefined, q.signal);
    if (paging.style === 'offset') {
      const offset = page.kind === 'offset' ? page.offset : 0;
      req = { ...req, query: { ...req.query, [paging.offset_param]: offset, [paging.limit_param]: paging.max_limit } };
    } else if (paging.style === 'cursor' && page.kind === 'cursor') {
      req = { ...req, query: { ...req.query, [paging.cursor_param]: page.cursor } };
    } else if ((paging.style === 'next_url' || paging.style === 'link_header') && page.kind === 'url') {
      req = { ...req, ...belowBase(page.url) };
    } else if (page.kind !== 'first') throw badPosition();
    const res = await call(req);
    if (res.status < 200 || res.status > 299) throw unexpectedStatus(name, res);
    const body = parseJson(name, res);
    const raw = get(body, spec.items);
    if (!Array.isArray(raw)) throw unexpectedShape(name, res, 'a list of jobs');
    const items = raw.map((item) => {
      const { id, ...report } = toReport(item, res, undefined);
      if (id === undefined) throw unexpectedShape(name, res, 'a list of jobs with their ids');
      return { job_id: id, ...report };
    });
    return { items, next: nextPage(paging, body, res, page, raw.length) };
  }

  /** Where the page after this one is; undefined on the last page. */
  function nextPage(
    paging: NonNullable<Profile['list']>['paging'],
    body: unknown,
    res: HttpResponse,
    page: Locator,
    count: number,
  ): Locator | undefined {
    switch (paging.style) {
      case 'none':
        return undefined;
      case 'offset': {
        const offset = page.kind === 'offset' ? page.offset : 0;
        return count < paging.max_limit ? undefined : { kind: 'offset', offset: offset + count };
      }
      case 'cursor': {
        const next = get(body, paging.next);
        return typeof next === 'string' && next !== '' ? { kind: 'cursor', cursor: next.slice(0, 4096) } : undefined;
      }
      case 'next_url': {
        const next = get(body, paging.next);
        if (next === undefined || next === null || next === '') return undefined;
        if (typeof next !== 'string') throw unexpectedShape(name, res, 'a list whose next page is a URL');
        belowBase(next); // a next page elsewhere is refused now, not when the caller comes back
        return { kind: 'url', url: next };
      }
      case 'link_header': {
        const link = res.headers.link;
        const next = /<([^>]+)>\s*;\s*rel="?next"?/i.exec(Array.isArray(link) ? link.join(',') : (link ?? ''))?.[1];
        if (next === undefined) return undefined;
        const url = new URL(next, base).href;
        belowBase(url);
        return { kind: 'url', url };
      }
    }
  }

  /** A next page's URL as a request below base_url; a URL anywhere else is refused (backend URLs come only from config). */
  function belowBase(url: string): Pick<HttpRequest, 'path' | 'query'> {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new BackendError('BACKEND_UNAVAILABLE', `Backend "${name}" gave a next page that is not a URL.`);
    }
    if (u.origin !== base.origin || !u.pathname.startsWith(base.pathname)) {
      throw new BackendError(
        'BACKEND_UNAVAILABLE',
        `Backend "${name}" pointed its next page outside its base URL, so the gateway did not follow it.`,
      );
    }
    const path = u.pathname
      .slice(base.pathname.length)
      .split('/')
      .filter((s) => s !== '')
      .map((s) => decodeURIComponent(s));
    return { path, query: { ...fixedQuery, ...Object.fromEntries(u.searchParams) } };
  }
}

/** Backend pages a listing call reads at most to fill its page when it filters. */
const MAX_PAGES = 3;

/** An API page: the first, or where the previous one said the next is. */
const locatorSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('first') }),
  z.strictObject({ kind: z.literal('offset'), offset: z.number().int().min(0).max(10_000_000) }),
  z.strictObject({ kind: z.literal('cursor'), cursor: z.string().max(4096) }),
  z.strictObject({ kind: z.literal('url'), url: z.string().max(4096) }),
]);
type Locator = z.infer<typeof locatorSchema>;
/** Where a listing stands: the page, the last job given from it and how many of its jobs were read. */
const positionSchema = z.strictObject({
  page: locatorSchema,
  after: z.string().max(256).optional(),
  skip: z.number().int().min(0).max(10_000),
});
type Position = z.infer<typeof positionSchema>;
