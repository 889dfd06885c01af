// ComfyControl's cloud workflows (docs/backends.md, ComfyControl) as a built-in profile of the
// job-API engine (src/backends/http-jobs/engine.ts):
//   status: GET  {base}/v1/workflow/{id}
//   cancel: POST {base}/v1/workflow/{id}/cancel -> 200 with an empty body; the stop is asynchronous
//   list:   GET  {base}/v1/workflow?page&per_page=10..100 -> {workflows, total}, newest first, no filters
// Cancel is not idempotent (400 for finished workflows and for `accepted`/`uploaded` ones), so a 400
// is settled by the read after it: `already_terminal` or `not_cancellable`.
// ComfyControl sits behind Cloudflare with a per-IP limit (40 requests / 10 s, then a 10 s cooldown),
// so the profile has a request budget kept in the state store (one budget for every replica): the
// engine never spends more than it has, and after a 429 every replica stays quiet for the
// Retry-After time (or 10 s). Reads are not retried: a retry would spend budget nobody counted.
import { SAFE_JOB_ID, type JobBackend } from '../../jobs/backend.ts';
import type { JobStatusReport } from '../../jobs/model.ts';
import type { AdapterOptions } from '../http/adapter-options.ts';
import type { ProfileHooks } from '../http-jobs/answers.ts';
import { createJobApiBackend } from '../http-jobs/engine.ts';
import { profileSchema, type Profile } from '../http-jobs/profile.ts';
import type { ComfycontrolBackendConfig } from './config.ts';

// 404 is "not found or not yours". The docs also list 403 for "resource belongs to another user" next
// to tier and permission errors; a 403 whose message says so is not found, any other 403 is BACKEND_AUTH.
const OTHER_USER = '(another|other|different)\\s+user|not\\s+(yours|your\\s+own)|belongs?\\s+to';

/** The profile with the operator's request budget (ComfyControl's documented limit by default). */
export function comfycontrolProfile(rateLimit: ComfycontrolBackendConfig['rate_limit']): Profile {
  return profileSchema.parse({
    job_noun: 'workflow',
    // The id format is undocumented (the examples are UUIDs): the URL-safe ids.
    job_id: { pattern: SAFE_JOB_ID.pattern.source.replace(/^\^|\$$/g, ''), max_length: SAFE_JOB_ID.maxLength, hint: SAFE_JOB_ID.hint },
    status: {
      request: { path: '/v1/workflow/{id}' },
      fields: {
        id: '/id',
        status: '/status',
        created_at: '/created_at',
        started_at: '/started_at',
        completed_at: '/completed_at',
        name: '/name',
        error: '/exception_message',
        error_type: '/exception_type',
        error_node: '/error_node',
        details: {
          tags: { at: '/tags', as: 'tags' },
          user_runner_id: { at: '/user_runner_id', as: 'text' },
          managed_runner_id: { at: '/managed_runner_id', as: 'text' },
          prompt_id: { at: '/prompt_id', as: 'text' },
          queue_number: { at: '/queue_number', as: 'number' },
        },
      },
      words: {
        accepted: 'queued',
        uploaded: 'queued',
        queued: 'queued',
        running: 'running',
        completed: 'succeeded',
        failed: 'failed',
        invalid: 'failed', // rejected at validation; it never ran
        cancelled: 'cancelled',
        canceled: 'cancelled', // the docs spell it `cancelled`; the other spelling is accepted too
      },
      not_found: { http_status: [404], answers: [{ http_status: [403], field: '/message', matches: OTHER_USER }] },
    },
    cancel: {
      // `accepted`/`uploaded` workflows are refused with 400, but the read before may be stale by the
      // time the POST arrives (uploaded -> queued takes seconds), so the backend decides.
      request: { method: 'POST', path: '/v1/workflow/{id}/cancel' },
      answers: [{ http_status: [400], means: 'already_terminal' }],
      refused_while: ['accepted', 'uploaded'],
    },
    list: {
      request: { path: '/v1/workflow' },
      items: '/workflows',
      // The largest page it serves: a listing spends as few requests of the budget as it can.
      paging: { style: 'page', page_param: 'page', per_page_param: 'per_page', per_page: 100, first_page: 1, total: '/total' },
      max_pages: 3,
    },
    rate_limit: rateLimit,
  });
}

/**
 * comfycontrolHooks, the named hook of ComfyControl: a workflow rejected as `invalid` never ran, and says so in its own
 * words when ComfyControl gives none (a profile's error text is one sentence for every failed word).
 */
export const comfycontrolHooks: ProfileHooks = {
  refine(record: { exception_message?: unknown }, report: JobStatusReport): JobStatusReport {
    if (report.status !== 'failed' || !report.error) return report;
    const given = typeof record.exception_message === 'string' && record.exception_message !== '';
    if (report.raw_status?.toLowerCase() !== 'invalid') {
      return given
        ? report
        : { ...report, error: { ...report.error, message: 'the workflow failed (ComfyControl gave no exception message)' } };
    }
    // It never ran, so no node failed.
    const { node: _node, ...error } = report.error;
    return {
      ...report,
      error: {
        ...error,
        ...(given ? {} : { message: 'ComfyControl rejected the workflow as invalid; it never ran' }),
        type: error.type ?? 'invalid',
      },
    };
  },
};

export function createComfycontrolBackend(config: ComfycontrolBackendConfig, options: AdapterOptions): JobBackend<'comfycontrol'> {
  return createJobApiBackend(
    {
      kind: 'comfycontrol',
      profile: comfycontrolProfile(config.rate_limit),
      baseUrl: config.base_url,
      headers: { authorization: `Bearer ${config.token}` },
      timeoutMs: config.timeout_ms,
      missingStatus: 'backend',
      hooks: comfycontrolHooks,
    },
    options,
  );
}
