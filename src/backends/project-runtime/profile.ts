// Veryfront-style project runtimes (docs/backends.md, project runtime) as a built-in profile of the
// job-API engine (src/backends/http-jobs/engine.ts):
//   status: GET  {base}/projects/{project}/jobs/{job_id}         -> Job
//   cancel: POST {base}/projects/{project}/jobs/{job_id}/cancel  -> the updated Job
//   list:   GET  {base}/projects/{project}/jobs?cursor&limit[&status] -> {data: [JobListItem], page_info: {next}}
// `project` is `remote_project` from the config, else the gateway's project reference. The stop is
// cooperative: the job may still say `working` after the cancel, which is `cancel_requested`. The
// status codes for cancelling a finished or unknown job are undocumented, so any 4xx but 401, 403 and
// 429 is settled by the read after it (`already_terminal` or `not_found`).
import type { JobBackend } from '../../jobs/backend.ts';
import type { JobError, JobStatusReport } from '../../jobs/model.ts';
import type { AdapterOptions } from '../http/adapter-options.ts';
import type { ProfileHooks } from '../http-jobs/answers.ts';
import { createJobApiBackend } from '../http-jobs/engine.ts';
import { profileSchema, type Profile } from '../http-jobs/profile.ts';
import type { ProjectRuntimeBackendConfig } from './config.ts';

/** The profile of one project on the runtime: its routes name the runtime's own project id. */
export function projectRuntimeProfile(project: string): Profile {
  const jobs = `/projects/${project}/jobs`;
  return profileSchema.parse({
    // `job_id` is `string<uuid>`; Postgres-style UUIDs compare without case, so an uppercase one is sent in lowercase.
    job_id: {
      pattern: '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}',
      max_length: 36,
      hint: 'is a UUID such as 3f2b8c1e-9a4d-4e6f-8b2a-1c3d5e7f9a0b',
      lowercase: true,
    },
    status: {
      request: { path: `${jobs}/{id}` },
      // The API answers the Job itself; a `{data: Job}` envelope is tolerated.
      record: ['', '/data'],
      fields: {
        id: '/id',
        status: '/status',
        created_at: '/created_at',
        started_at: '/started_at',
        completed_at: '/completed_at',
        name: '/name',
        details: {
          target: { at: '/target', as: 'text' },
          environment_id: { at: '/environment_id', as: 'text' },
          branch_id: { at: '/branch_id', as: 'text' },
          batch_id: { at: '/batch_id', as: 'text' },
          cron_job_id: { at: '/cron_job_id', as: 'text' },
          exit_code: { at: '/exit_code', as: 'int' },
          failed_reason: { at: '/failed_reason', as: 'text' },
          timeout_seconds: { at: '/timeout_seconds', as: 'nonnegative' },
          backoff_limit: { at: '/backoff_limit', as: 'count' },
          result_state: { at: '/result_summary/state', as: 'text' },
        },
      },
      words: {
        submitted: 'queued',
        working: 'running',
        completed: 'succeeded',
        failed: 'failed',
        canceled: 'cancelled',
        cancelled: 'cancelled', // the Veryfront spelling is `canceled`; the other spelling is accepted too
      },
      // Unknown ids and other projects' jobs are 404; a 403 is a token without access to the project.
      not_found: { http_status: [404] },
    },
    cancel: {
      request: { method: 'POST', path: `${jobs}/{id}/cancel` },
      answers: [{ http_status: ['4xx'], means: 'already_terminal' }],
    },
    list: {
      request: { path: jobs },
      items: '/data',
      // It pages by key, so new jobs shift nothing; `page_info.next` may be the cursor or a URL holding it.
      paging: { style: 'cursor', next: '/page_info/next', cursor_param: 'cursor', limit_param: 'limit', max_limit: 100 },
      status_filter: {
        param: 'status',
        words: { queued: ['submitted'], running: ['working'], succeeded: ['completed'], failed: ['failed'], cancelled: ['canceled'] },
      },
      max_pages: 5,
    },
  });
}

interface RuntimeJob {
  failure_detail?: unknown;
  failed_reason?: unknown;
  exit_code?: unknown;
  result_summary?: { state?: unknown; requested_count?: unknown; ingested_count?: unknown; failed_count?: unknown } | null;
}

/**
 * projectRuntimeHooks, the named hook of project runtimes: a failed job's text joins its detail, its reason and its exit
 * code, and a `completed` job whose result summary reports failure or partial success carries that
 * verdict in `error`; both are sentences built from several fields, which no pointer gives.
 */
export const projectRuntimeHooks: ProfileHooks = {
  refine(record: RuntimeJob, report: JobStatusReport): JobStatusReport {
    const error = errorOf(record, report);
    return error ? { ...report, error } : report;
  },
};

function errorOf(job: RuntimeJob, report: JobStatusReport): JobError | undefined {
  const reason = typeof job.failed_reason === 'string' && job.failed_reason !== '' ? job.failed_reason : undefined;
  if (report.status === 'failed') {
    const detail = typeof job.failure_detail === 'string' && job.failure_detail !== '' ? job.failure_detail : undefined;
    let message = detail ?? reason ?? 'the job failed (the runtime gave no reason)';
    if (typeof job.exit_code === 'number' && !message.includes(`code ${job.exit_code}`)) message += ` (exit code ${job.exit_code})`;
    return { message: message.slice(0, 2000), ...(reason ? { type: reason.slice(0, 200) } : {}) };
  }
  // A `completed` job is `succeeded` (the run itself finished) even when its result summary reports
  // `failed` or `partial_success`; the verdict is in `error`, so a failed ingest is not taken for a clean one.
  const s = job.result_summary;
  const state = s?.state;
  if (report.status === 'succeeded' && s && (state === 'failed' || state === 'partial_success')) {
    const counts =
      typeof s.requested_count === 'number'
        ? ` (${typeof s.ingested_count === 'number' ? s.ingested_count : 0} of ${s.requested_count} items done, ${typeof s.failed_count === 'number' ? s.failed_count : 0} failed)`
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

export function createProjectRuntimeBackend(config: ProjectRuntimeBackendConfig, options: AdapterOptions): JobBackend<'project_runtime'> {
  return createJobApiBackend(
    {
      kind: 'project_runtime',
      profile: projectRuntimeProfile(config.remote_project ?? options.projectReference),
      baseUrl: config.base_url,
      headers: { authorization: `Bearer ${config.token}` },
      timeoutMs: config.timeout_ms,
      missingStatus: 'backend',
      hooks: projectRuntimeHooks,
    },
    options,
  );
}
