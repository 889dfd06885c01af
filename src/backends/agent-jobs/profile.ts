// AI Connect's agent-jobs service (docs/backends.md, agent-jobs) as a built-in profile of the job-API
// engine (src/backends/http-jobs/engine.ts):
//   status: GET    {base}/services/agent-jobs/{job_id}[?org_id=]
//   cancel: DELETE {base}/services/agent-jobs/{job_id} with optional JSON body {reason}
//   list:   GET    {base}/services/agent-jobs?limit&offset&sort=created_at:desc[&status=][&org_id=]
// The service is not idempotent (409 for a terminal job) and its cancel answer carries no job record;
// the engine reads the job before and after every cancel, so a 409 becomes `already_terminal` only
// when the read after it agrees.
import { SAFE_JOB_ID, type JobBackend } from '../../jobs/backend.ts';
import { toIsoTime, type JobStatusReport } from '../../jobs/model.ts';
import type { AdapterOptions } from '../http/adapter-options.ts';
import type { ProfileHooks } from '../http-jobs/answers.ts';
import { createJobApiBackend } from '../http-jobs/engine.ts';
import { profileSchema } from '../http-jobs/profile.ts';
import type { AgentJobsBackendConfig } from './config.ts';

// A 403 on a job means either "job belongs to a different organization" (documented) or a key
// without READ access to the SERVICES scope or to the configured org_id. The first is "not found"
// (the caller must not learn about other organizations' jobs), the second BACKEND_AUTH. The message
// is the first clue; when it names no organization, a listing with the same key decides.
const OTHER_ORG = '(different|another|other)\\s+organi[sz]ation|belongs?\\s+to\\s+(a|an)\\s+(different|another|other)';

export const AGENT_JOBS_PROFILE = profileSchema.parse({
  job_noun: 'agent job',
  // The id format is undocumented (the docs' example is `job123`, the seeds are UUIDs): the URL-safe ids.
  job_id: { pattern: SAFE_JOB_ID.pattern.source.replace(/^\^|\$$/g, ''), max_length: SAFE_JOB_ID.maxLength, hint: SAFE_JOB_ID.hint },
  status: {
    request: { path: '/services/agent-jobs/{id}' },
    // agentjobs-mcp unwraps `response.data.data || response.data`; so does the profile.
    record: ['/data', ''],
    // The envelope's meta names the job as `meta.id` on a read and `meta.job_id` on a cancel.
    answer_ids: ['/meta/id', '/meta/job_id'],
    fields: {
      id: '/job_id',
      status: ['/job_status', '/status'],
      created_at: '/created_at',
      started_at: '/started_at',
      // The record has no end time: `updated_at` of a terminal job is when it became terminal.
      completed_at: ['/completed_at', '/updated_at'],
      details: {
        job_type_id: { at: '/job_type_id', as: 'text' },
        channel_code: { at: '/channel_code', as: 'text' },
        scheduled_at: { at: '/scheduled_at', as: 'time' },
        tasks_count: { at: ['/tasks', '/tasks_count'], as: 'count' },
        last_task_created_at: { at: '/last_task_created_at', as: 'time' },
        tags: { at: '/tags', as: 'tags' },
      },
    },
    // Compared without case: the docs say UPPERCASE, the MCP tool and fixtures lowercase.
    words: {
      waiting: 'queued',
      scheduled: 'queued',
      running: 'running',
      completed: 'succeeded',
      failed: 'failed',
      canceled: 'cancelled',
      cancelled: 'cancelled', // not seen, but a harmless spelling to accept
    },
    not_found: {
      http_status: [404],
      answers: [
        { http_status: [403], field: '/message', matches: OTHER_ORG },
        { http_status: [403], field: '/error', matches: OTHER_ORG },
      ],
      probe: { on: [403], request: { path: '/services/agent-jobs', query: { limit: '1' } } },
    },
  },
  cancel: {
    // The reason travels in a DELETE body, as the service documents; some proxies drop DELETE bodies.
    request: { method: 'DELETE', path: '/services/agent-jobs/{id}' },
    reason_field: 'reason',
    answers: [{ http_status: [409], means: 'already_terminal' }],
  },
  list: {
    request: { path: '/services/agent-jobs', query: { sort: 'created_at:desc' } },
    items: '/data',
    paging: { style: 'offset', offset_param: 'offset', limit_param: 'limit', max_limit: 100, total: '/meta/total' },
    // The service filters on one UPPERCASE word; several (queued) are filtered by the gateway.
    status_filter: {
      param: 'status',
      words: {
        queued: ['WAITING', 'SCHEDULED'],
        running: ['RUNNING'],
        succeeded: ['COMPLETED'],
        failed: ['FAILED'],
        cancelled: ['CANCELED'],
      },
    },
    max_pages: 5,
  },
});

interface AgentTask {
  created_at?: unknown;
  result?: unknown;
}

/**
 * agentJobsHooks, the named hook of agent jobs: the record has no start time and a failed job's text may be on
 * its last task, which no pointer can pick (the earliest and the last of an array).
 */
export const agentJobsHooks: ProfileHooks = {
  refine(record: { tasks?: unknown; result?: unknown }, report: JobStatusReport): JobStatusReport {
    const tasks = (Array.isArray(record.tasks) ? record.tasks : []) as AgentTask[];
    // Its first task is created when the job starts running; an explicit `started_at` wins.
    const started =
      report.started_at === undefined && report.status !== 'queued'
        ? tasks
            .map((t) => toIsoTime(t?.created_at))
            .filter((t): t is string => t !== undefined)
            .sort()[0]
        : undefined;
    if (started === undefined && report.status !== 'failed') return report;
    const lastTaskResult = [...tasks].reverse().find((t) => typeof t?.result === 'string' && t.result !== '')?.result as string | undefined;
    const message =
      typeof record.result === 'string' && record.result !== ''
        ? record.result
        : (lastTaskResult ?? 'the agent job failed (the service gave no result text)');
    return {
      ...report,
      ...(started !== undefined ? { started_at: started } : {}),
      ...(report.status === 'failed' ? { error: { message: message.slice(0, 2000) } } : {}),
    };
  },
};

export function createAgentJobsBackend(config: AgentJobsBackendConfig, options: AdapterOptions): JobBackend<'agent_jobs'> {
  return createJobApiBackend(
    {
      kind: 'agent_jobs',
      profile: AGENT_JOBS_PROFILE,
      baseUrl: config.base_url,
      headers: { authorization: `Bearer ${config.api_key}`, 'x-client-type': 'mcp' },
      query: config.org_id !== undefined ? { org_id: config.org_id } : undefined,
      timeoutMs: config.timeout_ms,
      missingStatus: 'backend',
      hooks: agentJobsHooks,
    },
    options,
  );
}
