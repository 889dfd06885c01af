// The engine of every job API described by a profile (profile.ts): kind `http_jobs`, and the
// built-in profiles of agent_jobs, project_runtime and comfycontrol. What a profile cannot change,
// because it is what makes an answer honest:
// - a job id is checked before any URL is built, and sent as one percent-encoded path segment;
// - an answer that names another job is refused (BACKEND_UNAVAILABLE), never taken as this one's;
// - a status word the profile does not map reads `unknown` with `found: true` and the word kept; a
//   status the answer does not hold is BACKEND_REJECTED; neither is ever guessed;
// - a cancel reads the job first (a finished job answers `already_terminal`, and nothing is sent),
//   then asks, then reads the job again to say what really happened: `cancelled` only when the API
//   says the job is cancelled, `already_terminal` or `not_cancellable` only when the read agrees;
// - only the named job is touched, and a backend's own words reach the log only (http-client.ts).
import { BackendError, isBackendError } from '../../jobs/backend-error.ts';
import { assertJobId, jobIdRule, type BackendCallContext, type BackendCancelContext, type JobBackend } from '../../jobs/backend.ts';
import { isTerminal, notFoundReport, recordOf, type CancelOutcome, type CancelReport, type JobStatusReport } from '../../jobs/model.ts';
import type { AdapterOptions } from '../http/adapter-options.ts';
import { createAnswerMemo } from '../http/answer-memo.ts';
import {
  createHttpClient,
  parseJson,
  retryAfterSeconds,
  unexpectedShape,
  unexpectedStatus,
  type HttpRequest,
  type HttpResponse,
} from '../http/http-client.ts';
import { createRequestBudget } from '../http/request-budget.ts';
import { bodyOf, createRecordReader, type MissingStatusBlame, type ProfileHooks } from './answers.ts';
import type { HttpJobsBackendConfig } from './config.ts';
import { listJobs } from './listing.ts';
import { resolveProfile } from './profiles.ts';
import type { Profile, ProfileRequest } from './profile.ts';

/** Default cooldown after a 429 without Retry-After, when the profile has a request budget. */
const DEFAULT_COOLDOWN_S = 10;

/** One job API as the engine drives it: a kind's name, a resolved profile, and where and how to call. */
export interface JobApi<K extends string> {
  kind: K;
  profile: Profile;
  baseUrl: string;
  /** Sent on every call (the gateway's credentials for the API). */
  headers: Readonly<Record<string, string>>;
  /** Sent on every call (a credential some APIs take there, an organisation). */
  query?: Readonly<Record<string, string>> | undefined;
  timeoutMs?: number | undefined;
  hooks?: ProfileHooks | undefined;
  /** Who an answer without a status blames (answers.ts): `backend` for a kind's built-in profile. */
  missingStatus?: MissingStatusBlame | undefined;
}

/** The adapter of an `http_jobs` project. */
export function createHttpJobsBackend(config: HttpJobsBackendConfig, options: AdapterOptions): JobBackend<'http_jobs'> {
  return createJobApiBackend(
    {
      kind: 'http_jobs',
      profile: resolveProfile(config),
      baseUrl: config.base_url,
      headers: config.headers ?? {},
      query: config.query,
      timeoutMs: config.timeout_ms,
    },
    options,
  );
}

export function createJobApiBackend<K extends string>(api: JobApi<K>, options: AdapterOptions): JobBackend<K> {
  const { name } = options;
  const { profile } = api;
  const noun = profile.job_noun;
  const fixedQuery = api.query ?? {};
  const http = createHttpClient({
    name,
    baseUrl: api.baseUrl,
    headers: api.headers,
    timeoutMs: api.timeoutMs ?? options.timeoutMs,
    // Reads are retried once on 502/503/504 unless every request is counted against a budget.
    retryReads: profile.rate_limit === undefined,
    observe: options.observe,
    trace: options.trace,
  });
  const budget = profile.rate_limit
    ? createRequestBudget(options.state, {
        kind: api.kind,
        name,
        requests: profile.rate_limit.requests,
        perSeconds: profile.rate_limit.per_seconds,
      })
    : undefined;
  const lastAnswers = createAnswerMemo<JobStatusReport>();
  const reader = createRecordReader(profile, name, api.hooks, api.missingStatus);
  const idRule = profile.job_id;
  const validateJobId = jobIdRule({
    what: `A job id of backend "${name}"`,
    ...(idRule
      ? {
          pattern: new RegExp(`^(?:${idRule.pattern})$`, idRule.lowercase ? 'i' : ''),
          maxLength: idRule.max_length,
          hint: idRule.hint ?? `must match ${idRule.pattern}`,
        }
      : {
          pattern: /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/,
          maxLength: 128,
          hint: 'may contain only letters, digits, "_", ".", ":" and "-"',
        }),
  });
  const sentId = (jobId: string): string => (idRule?.lowercase ? jobId.toLowerCase() : jobId);
  const refusedWhile = new Set(profile.cancel.refused_while.map((w) => w.toLowerCase()));

  /**
   * One call, paid from the budget when there is one (unless paid for already); a 429 there makes
   * every replica wait out the cooldown and is RATE_LIMITED at once.
   */
  async function call(req: HttpRequest, prepaid = false): Promise<HttpResponse> {
    if (budget && !prepaid) await budget.take(1);
    const res = await http.call(req);
    if (res.status === 429 && budget) {
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

  /** A request of the profile as a function of the job id: its path template is read once, here. */
  function requestOf(action: string, spec: ProfileRequest): (jobId: string | undefined, signal: AbortSignal) => HttpRequest {
    const segments = spec.path
      .split('/')
      .filter((s) => s !== '')
      .map((s) => (s === '{id}' ? undefined : decodeURIComponent(s)));
    const query = { ...fixedQuery, ...spec.query };
    return (jobId, signal) => {
      const id = jobId === undefined ? undefined : sentId(jobId);
      return {
        action,
        method: spec.method,
        path: segments.map((s) => s ?? id!),
        ...(id !== undefined ? { jobId: id } : {}),
        query: { ...query },
        signal,
      };
    };
  }
  const statusRequest = requestOf('get_job', profile.status.request);
  const cancelRequest = requestOf('cancel_job', profile.cancel.request);
  const confirmRequest = profile.status.confirm && requestOf('get_result', profile.status.confirm.request);
  const probeRequest = profile.status.not_found.probe && requestOf('check_credentials', profile.status.not_found.probe.request);
  const listRequest = profile.list && requestOf('list_jobs', profile.list.request);

  /** Whether an answer says the job does not exist (or is another tenant's, which the caller must not learn). */
  function saysNotFound(res: HttpResponse): boolean {
    const nf = profile.status.not_found;
    return (
      nf.http_status.includes(res.status) || (nf.answers.length > 0 && reader.answers.matchRule(nf.answers, res, bodyOf(res)) !== undefined)
    );
  }

  /** A status the profile's probe settles: the credentials are fine (so the job is not found) or they are not (BACKEND_AUTH). */
  async function probeSaysNotFound(res: HttpResponse, signal: AbortSignal): Promise<boolean> {
    const probe = profile.status.not_found.probe;
    if (!probe?.on.includes(res.status)) return false;
    const answer = await call(probeRequest!(undefined, signal));
    if (answer.status >= 200 && answer.status <= 299) return true;
    if (answer.status === 401 || answer.status === 403) return false;
    throw unexpectedStatus(name, answer);
  }

  async function read(jobId: string, signal: AbortSignal, prepaid = false): Promise<JobStatusReport> {
    const res = await call(statusRequest(jobId, signal), prepaid);
    if (res.status >= 200 && res.status <= 299) {
      const report = lastAnswers.reuse(jobId, res.text, () => {
        const body = parseJson(name, res);
        const record = reader.recordIn(body);
        if (record === undefined) throw unexpectedShape(name, res, `a ${noun}`);
        reader.checkNames(jobId, body, record, res);
        return reader.report(record, res);
      });
      return confirmed(report, jobId, signal);
    }
    if (saysNotFound(res) || (await probeSaysNotFound(res, signal))) return notFoundReport();
    throw unexpectedStatus(name, res);
  }

  /** For a word that does not tell how the job ended (fal's COMPLETED), the result route's answer says. */
  async function confirmed(report: JobStatusReport, jobId: string, signal: AbortSignal): Promise<JobStatusReport> {
    const rule = profile.status.confirm;
    if (!rule || !rule.words.some((w) => w.toLowerCase() === report.raw_status?.toLowerCase())) return report;
    const res = await call(confirmRequest!(jobId, signal));
    if (res.status >= 500 || res.status === 401 || res.status === 403 || res.status === 429 || res.status < 200)
      throw unexpectedStatus(name, res);
    const body = bodyOf(res);
    const means = reader.answers.matchRule(rule.answers, res, body)?.means ?? (res.status <= 299 ? 'succeeded' : 'failed');
    if (means !== 'failed') return { ...report, status: means };
    const text = reader.answers.errorText(body, rule.error);
    return {
      ...report,
      status: 'failed',
      error: { message: text ?? `the ${noun} failed (${name} answered HTTP ${res.status} for its result)` },
    };
  }

  type Meaning = 'requested' | 'done' | 'already_terminal' | 'not_cancellable' | 'not_found';

  /** What a cancel answer means: the first rule it matches, else "no such job", else a 2xx is `requested`. */
  function cancelMeaning(res: HttpResponse, jobId: string): Meaning | undefined {
    const body = bodyOf(res);
    // An answer about another job is no confirmation of this one.
    if (res.status >= 200 && res.status <= 299) reader.checkNames(jobId, body, reader.recordIn(body), res);
    const rule = reader.answers.matchRule(profile.cancel.answers, res, body);
    if (rule) return rule.means;
    if (saysNotFound(res)) return 'not_found';
    return res.status >= 200 && res.status <= 299 ? 'requested' : undefined;
  }

  function outcomeOf(outcome: CancelOutcome, before: JobStatusReport, after: JobStatusReport, message: string): CancelReport {
    return { outcome, status_before: before.status, status_after: after.status, message, ...recordOf(after.found ? after : before) };
  }

  const isRefusedWhile = (report: JobStatusReport): boolean => refusedWhile.has((report.raw_status ?? '').toLowerCase());

  async function cancel(jobId: string, ctx: BackendCancelContext): Promise<CancelReport> {
    assertJobId(validateJobId, jobId);
    // With a budget, a cancel pays for its read and its request at once: it never stops between them for want of budget.
    const prepaid = budget ? Math.min(2, profile.rate_limit!.requests) : 0;
    if (budget) await budget.take(prepaid);
    const before = await read(jobId, ctx.signal, prepaid >= 1);
    if (!before.found)
      return {
        outcome: 'not_found',
        status_before: 'unknown',
        status_after: 'unknown',
        message: `backend "${name}" has no ${noun} ${jobId}`,
      };
    if (isTerminal(before.status))
      return outcomeOf(
        'already_terminal',
        before,
        before,
        `${noun} ${jobId} had already finished (${before.raw_status}); nothing was cancelled`,
      );
    const reason = profile.cancel.reason_field !== undefined && ctx.reason ? { json: { [profile.cancel.reason_field]: ctx.reason } } : {};
    const res = await call({ ...cancelRequest(jobId, ctx.signal), ...reason }, prepaid === 2);
    const meaning = cancelMeaning(res, jobId);
    if (meaning === undefined) throw unexpectedStatus(name, res);
    if (meaning === 'not_found')
      return {
        outcome: 'not_found',
        status_before: before.status,
        status_after: 'unknown',
        message: `${noun} ${jobId} disappeared before it could be cancelled`,
      };
    const refused = meaning === 'already_terminal' || meaning === 'not_cancellable';
    // Whatever the answer said, the job's own status says what happened.
    let after: JobStatusReport;
    try {
      after = await read(jobId, ctx.signal);
    } catch (e) {
      if (ctx.signal.aborted) throw e;
      // A refusal while the job was in a word the API refuses in is explained by the read before.
      if (refused && isRefusedWhile(before)) after = before;
      else if (refused) throw e;
      else
        return outcomeOf(
          'cancel_requested',
          before,
          before,
          `backend "${name}" took the cancel of ${jobId}; the follow-up status read failed (${isBackendError(e) ? e.code : 'error'}), check again in a few seconds`,
        );
    }
    if (!after.found)
      return { outcome: 'not_found', status_before: before.status, status_after: 'unknown', message: `${noun} ${jobId} no longer exists` };
    if (refused) {
      if (isTerminal(after.status))
        return outcomeOf(
          'already_terminal',
          before,
          after,
          `${noun} ${jobId} had already finished (${after.raw_status}); nothing was cancelled`,
        );
      if (meaning === 'not_cancellable' || isRefusedWhile(after))
        return outcomeOf(
          'not_cancellable',
          before,
          after,
          `backend "${name}" cannot cancel ${noun} ${jobId} while it is ${after.raw_status}; retry later`,
        );
      // The API says the job has finished and the job says it has not: neither is believed.
      throw unexpectedStatus(name, res);
    }
    if (after.status === 'cancelled') return outcomeOf('cancelled', before, after, `${noun} ${jobId} is cancelled`);
    if (isTerminal(after.status))
      return outcomeOf('already_terminal', before, after, `${noun} ${jobId} finished (${after.raw_status}) before the cancel took effect`);
    return outcomeOf(
      'cancel_requested',
      before,
      after,
      `backend "${name}" was asked to stop ${noun} ${jobId}; it still reports ${after.raw_status}, and its status changes to cancelled once it stops`,
    );
  }

  return {
    kind: api.kind,
    name,
    validateJobId,
    async getStatus(jobId: string, ctx: BackendCallContext): Promise<JobStatusReport> {
      assertJobId(validateJobId, jobId);
      return read(jobId, ctx.signal);
    },
    cancel,
    list: (q) =>
      listJobs(q, {
        name,
        list: profile.list,
        reader,
        baseUrl: api.baseUrl,
        fixedQuery,
        firstRequest: (signal) => listRequest!(undefined, signal),
        call: (req) => call(req),
      }),
    close: () => http.close(),
  };
}
