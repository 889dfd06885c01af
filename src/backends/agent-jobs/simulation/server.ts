// Simulated AI Connect agent-jobs service (docs/backends.md, agent-jobs), speaking the REST API that
// aiconnect-cloud/agentjobs-mcp calls: GET/DELETE /api/v0/services/agent-jobs/{job_id} and the list
// route. Quirks kept on purpose, because the real service has them:
// - `job_status` arrives UPPERCASE for some jobs and lowercase for others (the docs say uppercase, the
//   MCP tool's enum and its test fixtures are lowercase), and timestamps are ISO strings for some jobs
//   and epoch numbers for others;
// - a job of another organization answers 403, not 404;
// - cancel is not idempotent: a terminal job answers 409;
// - the cancel answer carries no job record, only `{meta, message}`;
// - a key with READ but no WRITE access to the SERVICES scope can read but not cancel (403).
// Job states are derived from the clock on each request (no timers).
import { systemClock, type Clock } from '../../../simulation/clock.ts';
import { jsonBody, segments, startSimServer, type SimRequest, type SimResponse, type SimServer } from '../../../simulation/sim-server.ts';
import { buildSeeds, seededUuid, stepAt, type Simulation, type TimelineStep } from '../../../simulation/simulation.ts';

export const AGENT_JOB_STATUSES = ['SCHEDULED', 'WAITING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELED'] as const;
export type AgentJobStatus = (typeof AGENT_JOB_STATUSES)[number];
const TERMINAL: ReadonlySet<AgentJobStatus> = new Set(['COMPLETED', 'FAILED', 'CANCELED']);

export interface AgentJobSpec {
  /** Any id (the format is undocumented; the docs' example is `job123`); default: a UUID-shaped id. */
  id?: string;
  /** Owning organization; default: the key's organization. Another org's job answers 403. */
  orgId?: string;
  /** The status the job is in now (default WAITING). */
  status?: AgentJobStatus;
  /** SCHEDULED: time until `scheduled_at` (default 30 min). */
  scheduledInMs?: number;
  /** WAITING: time until it starts running (default 5 min; after `scheduled_at` for SCHEDULED jobs: default 30 s). */
  startsInMs?: number;
  /** Remaining run time once RUNNING (for WAITING/SCHEDULED: the whole run; default 10 min); null: runs until cancelled. */
  runsForMs?: number | null;
  /** How long ago it started running (RUNNING and terminal jobs; default 2 min, terminal 30 min). */
  startedAgoMs?: number;
  /** Terminal jobs: how long ago they finished (default 5 min). */
  endedAgoMs?: number;
  /** How a finished run ends (default COMPLETED). */
  ending?: 'COMPLETED' | 'FAILED';
  /** The `result` text of a finished job (defaults depend on how it ends). */
  result?: string | null;
  /** How `job_status` is spelled in answers (default 'upper'). */
  statusCase?: 'upper' | 'lower';
  /** How timestamps are rendered (default 'iso'). */
  timeFormat?: 'iso' | 'epoch_ms' | 'epoch_s';
  /** The key holding the status (default `job_status`; the docs' activities example shows `status`). */
  statusKey?: 'job_status' | 'status';
  jobTypeId?: string;
  channelCode?: string;
}

type Step = TimelineStep<AgentJobStatus>;

interface SimJob {
  id: string;
  orgId: string;
  steps: Step[];
  createdAt: number;
  scheduledAt: number;
  endingResult: string | null;
  statusCase: 'upper' | 'lower';
  timeFormat: 'iso' | 'epoch_ms' | 'epoch_s';
  statusKey: 'job_status' | 'status';
  jobTypeId: string;
  channelCode: string;
  cancelReason: string | undefined;
  cancelRequests: number;
}

/** What a test can read about one job. */
export interface AgentJobView {
  id: string;
  orgId: string;
  /** Current status, uppercase. */
  status: AgentJobStatus;
  /** The record as GET answers it now. */
  record: Record<string, unknown>;
  /** The `reason` the last successful DELETE carried, if any. */
  cancelReason: string | undefined;
  /** DELETE requests that reached this job (including refused ones). */
  cancelRequests: number;
}

export interface AgentJobsSimOptions {
  apiKey: string;
  /** The organization the key belongs to (default `aiconnect`, agentjobs-mcp's DEFAULT_ORG_ID). */
  orgId?: string;
  /** Keys with READ but no WRITE access to the SERVICES scope: GET works, DELETE answers 403. */
  readOnlyApiKeys?: string[];
  /** The 403 message for another organization's job (the real text is undocumented; default names it). */
  foreignJobMessage?: string;
  port?: number;
  host?: string;
  clock?: Clock;
  /** Namespace for seeded ids (default `agent_jobs`). */
  namespace?: string;
  /** Seed one job per SEED_STATES entry (default true). */
  seed?: boolean;
}

export interface AgentJobsSim extends Simulation<'agent_jobs'> {
  /** Base URL including the API prefix, as configured in `base_url`: `http://127.0.0.1:PORT/api/v0`. */
  readonly baseUrl: string;
  readonly orgId: string;
  addJob(spec?: AgentJobSpec): string;
  job(id: string): AgentJobView | undefined;
}

const API_PREFIX = ['api', 'v0'];
const MIN = 60_000;

export async function startAgentJobsSim(options: AgentJobsSimOptions): Promise<AgentJobsSim> {
  const clock = options.clock ?? systemClock;
  const orgId = options.orgId ?? 'aiconnect';
  const namespace = options.namespace ?? 'agent_jobs';
  const readOnly = new Set(options.readOnlyApiKeys ?? []);
  const jobs = new Map<string, SimJob>();
  let counter = 0;

  const statusAt = (job: SimJob, t: number): Step => stepAt(job.steps, TERMINAL, t);

  function addJob(spec: AgentJobSpec = {}): string {
    const now = clock.now();
    const id = spec.id ?? seededUuid(`${namespace}:added`, counter++);
    const status = spec.status ?? 'WAITING';
    const ending = spec.ending ?? (status === 'FAILED' ? 'FAILED' : 'COMPLETED');
    const runsFor = spec.runsForMs === undefined ? 10 * MIN : spec.runsForMs;
    const steps: Step[] = [];
    let createdAt: number;
    let scheduledAt: number;
    const finish = (startAt: number): void => {
      if (runsFor !== null) steps.push({ status: ending, at: startAt + runsFor });
    };
    switch (status) {
      case 'SCHEDULED': {
        createdAt = now - MIN;
        scheduledAt = now + (spec.scheduledInMs ?? 30 * MIN);
        const startAt = scheduledAt + (spec.startsInMs ?? 30_000);
        steps.push({ status: 'SCHEDULED', at: createdAt }, { status: 'WAITING', at: scheduledAt }, { status: 'RUNNING', at: startAt });
        finish(startAt);
        break;
      }
      case 'WAITING': {
        createdAt = now - MIN;
        scheduledAt = createdAt;
        const startAt = now + (spec.startsInMs ?? 5 * MIN);
        steps.push({ status: 'WAITING', at: createdAt }, { status: 'RUNNING', at: startAt });
        finish(startAt);
        break;
      }
      case 'RUNNING': {
        const startAt = now - (spec.startedAgoMs ?? 2 * MIN);
        createdAt = startAt - MIN;
        scheduledAt = createdAt;
        steps.push({ status: 'WAITING', at: createdAt }, { status: 'RUNNING', at: startAt });
        if (runsFor !== null) steps.push({ status: ending, at: now + runsFor });
        break;
      }
      default: {
        const endAt = now - (spec.endedAgoMs ?? 5 * MIN);
        const startAt = Math.min(endAt, now - (spec.startedAgoMs ?? 30 * MIN));
        createdAt = startAt - MIN;
        scheduledAt = createdAt;
        steps.push({ status: 'WAITING', at: createdAt }, { status: 'RUNNING', at: startAt }, { status, at: endAt });
      }
    }
    const endingResult =
      spec.result !== undefined
        ? spec.result
        : ending === 'FAILED'
          ? 'Task failed after 3 retries: the agent did not reply within max_time_to_complete'
          : 'Follow-up sent; customer confirmed the appointment.';
    jobs.set(id, {
      id,
      orgId: spec.orgId ?? orgId,
      steps,
      createdAt,
      scheduledAt,
      endingResult,
      statusCase: spec.statusCase ?? 'upper',
      timeFormat: spec.timeFormat ?? 'iso',
      statusKey: spec.statusKey ?? 'job_status',
      jobTypeId: spec.jobTypeId ?? 'follow-up',
      channelCode: spec.channelCode ?? 'C0123456',
      cancelReason: undefined,
      cancelRequests: 0,
    });
    return id;
  }

  function fmtTime(job: SimJob, ms: number): string | number {
    if (job.timeFormat === 'epoch_ms') return ms;
    if (job.timeFormat === 'epoch_s') return Math.floor(ms / 1000);
    return new Date(ms).toISOString();
  }

  function render(job: SimJob, t: number): Record<string, unknown> {
    const cur = statusAt(job, t);
    const word = job.statusCase === 'lower' ? cur.status.toLowerCase() : cur.status;
    const runStep = job.steps.find((s) => s.status === 'RUNNING' && s.at <= t && s.at <= cur.at);
    const tasks: Record<string, unknown>[] = [];
    if (runStep) {
      const taskStatus = cur.status === 'RUNNING' ? 'running' : cur.status.toLowerCase();
      tasks.push({
        task_id: `${job.id}-t1`,
        created_at: fmtTime(job, runStep.at),
        status: taskStatus,
        result: cur.status === 'COMPLETED' || cur.status === 'FAILED' ? job.endingResult : null,
      });
    }
    const record: Record<string, unknown> = {
      job_id: job.id,
      org_id: job.orgId,
      channel_code: job.channelCode,
      job_type_id: job.jobTypeId,
      [job.statusKey]: word,
      result: cur.status === 'COMPLETED' || cur.status === 'FAILED' ? job.endingResult : null,
      created_at: fmtTime(job, job.createdAt),
      updated_at: fmtTime(job, cur.at),
      scheduled_at: fmtTime(job, job.scheduledAt),
      last_task_created_at: runStep ? fmtTime(job, runStep.at) : null,
      tasks,
      params: { customer: 'c-42' },
      config: { max_follow_ups: 3, max_task_retries: 2, task_retry_interval: 5, max_time_to_complete: 60 },
      flags: {},
      channel_data: {},
      chat_id: null,
      tags: [],
      execution_log: [],
      activities_count: tasks.length + (cur.status === 'CANCELED' ? 2 : 1),
    };
    return record;
  }

  // Error bodies: the real shape is not documented. agentjobs-mcp reads `response.data.message ||
  // response.data.error`, so the simulation answers `{"message": "..."}` (an Express-style body).
  const err = (status: number, message: string): SimResponse => ({ status, json: { message } });

  function handle(req: SimRequest): SimResponse {
    const segs = segments(req.path);
    if (segs === null) return err(400, 'Bad request: malformed path');
    if (
      segs.length < 4 ||
      segs[0] !== API_PREFIX[0] ||
      segs[1] !== API_PREFIX[1] ||
      segs[2] !== 'services' ||
      segs[3] !== 'agent-jobs' ||
      segs.length > 5
    ) {
      return err(404, `Cannot ${req.method} ${req.path}`);
    }
    // Authentication first, as the real service does: nothing about jobs leaks without a key.
    const auth = req.headers.authorization;
    const m = typeof auth === 'string' ? /^Bearer (.+)$/.exec(auth) : null;
    const key = m?.[1];
    if (!key || (key !== options.apiKey && !readOnly.has(key))) return err(401, 'Unauthorized: invalid or missing API key');
    const canWrite = key === options.apiKey;

    // `?org_id=` selects the organization; a key has no access to other organizations.
    const qOrg = req.query.get('org_id');
    if (qOrg !== null && qOrg !== orgId) return err(403, `Forbidden: the API key has no access to organization '${qOrg}'`);

    const now = clock.now();
    if (segs.length === 4) {
      if (req.method !== 'GET') return err(405, 'Method not allowed');
      return list(req, now);
    }
    const jobId = segs[4]!;
    if (req.method !== 'GET' && req.method !== 'DELETE') return err(405, 'Method not allowed');
    if (req.method === 'DELETE' && !canWrite) return err(403, 'Forbidden: WRITE access to the SERVICES scope is required');
    const job = jobs.get(jobId);
    if (!job) return err(404, 'Job not found');
    if (job.orgId !== orgId) return err(403, options.foreignJobMessage ?? 'Forbidden: job belongs to a different organization');

    if (req.method === 'GET') return { status: 200, json: { data: render(job, now), meta: { org_id: orgId, id: job.id } } };

    // DELETE: optional JSON body {reason}. A body that is not JSON is a 400, as Express' json parser answers.
    let reason: string | undefined;
    if (req.body.trim() !== '') {
      const body = jsonBody(req);
      if (body === undefined || typeof body !== 'object' || body === null) return err(400, 'Bad request: invalid JSON body');
      const r = (body as { reason?: unknown }).reason;
      if (r !== undefined && typeof r !== 'string') return err(400, 'Bad request: reason must be a string');
      reason = r;
    }
    job.cancelRequests++;
    const cur = statusAt(job, now);
    if (TERMINAL.has(cur.status)) return err(409, `Conflict: job is already in a terminal state (${cur.status})`);
    // "Cancels a job by changing its status to CANCELED": immediate. Whether in-flight agent work stops
    // at once is undocumented; the record says CANCELED from now on.
    job.steps = job.steps.filter((s) => s.at <= now);
    job.steps.push({ status: 'CANCELED', at: now });
    job.cancelReason = reason;
    return {
      status: 200,
      json: { meta: { org_id: orgId, job_id: job.id }, message: `Job with ID '${job.id}' successfully canceled` },
    };
  }

  function list(req: SimRequest, now: number): SimResponse {
    const limitRaw = req.query.get('limit');
    const offsetRaw = req.query.get('offset');
    const limit = limitRaw === null ? 20 : Number(limitRaw);
    const offset = offsetRaw === null ? 0 : Number(offsetRaw);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100 || !Number.isInteger(offset) || offset < 0) {
      return err(400, 'Bad request: limit must be 1..100 and offset a non-negative integer');
    }
    // Whether the status filter takes upper- or lowercase is an open question (docs/backends.md,
    // open questions); the simulation compares case-insensitively.
    const statusFilter = req.query.get('status')?.toUpperCase();
    const all = [...jobs.values()]
      .filter((j) => j.orgId === orgId)
      .filter((j) => !statusFilter || statusAt(j, now).status === statusFilter)
      .sort((a, b) => b.createdAt - a.createdAt);
    return {
      status: 200,
      json: {
        data: all.slice(offset, offset + limit).map((j) => render(j, now)),
        meta: { org_id: orgId, limit, offset, total: all.length, sort: [{ field: 'created_at', direction: 'desc' }] },
      },
    };
  }

  const seeds = buildSeeds(options.seed, namespace, (seeds, id) => {
    const HOUR = 60 * MIN;
    // Spelling and time formats vary across seeds, as they do across real jobs.
    seeds.queued.push(addJob({ id: id(), status: 'WAITING', statusCase: 'upper', timeFormat: 'iso', startsInMs: 5 * MIN }));
    seeds.queued.push(addJob({ id: id(), status: 'SCHEDULED', statusCase: 'lower', timeFormat: 'epoch_ms', scheduledInMs: 2 * HOUR }));
    seeds.running.push(
      addJob({ id: id(), status: 'RUNNING', statusCase: 'upper', timeFormat: 'epoch_s', startedAgoMs: 2 * MIN, runsForMs: 10 * MIN }),
    );
    seeds.long_running.push(
      addJob({ id: id(), status: 'RUNNING', statusCase: 'lower', timeFormat: 'iso', startedAgoMs: HOUR, runsForMs: 5 * HOUR }),
    );
    seeds.succeeded.push(addJob({ id: id(), status: 'COMPLETED', statusCase: 'upper', timeFormat: 'epoch_ms' }));
    seeds.failed.push(addJob({ id: id(), status: 'FAILED', statusCase: 'lower', timeFormat: 'iso' }));
    const cancelled = addJob({ id: id(), status: 'CANCELED', statusCase: 'upper', timeFormat: 'iso' });
    jobs.get(cancelled)!.cancelReason = 'seeded as cancelled';
    seeds.cancelled.push(cancelled);
  });

  const server: SimServer = await startSimServer(handle, {
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.host !== undefined ? { host: options.host } : {}),
  });

  return {
    kind: 'agent_jobs',
    server,
    baseUrl: `${server.url}/${API_PREFIX.join('/')}`,
    orgId,
    seeds,
    addJob,
    job(id) {
      const j = jobs.get(id);
      if (!j) return undefined;
      const now = clock.now();
      return {
        id: j.id,
        orgId: j.orgId,
        status: statusAt(j, now).status,
        record: render(j, now),
        cancelReason: j.cancelReason,
        cancelRequests: j.cancelRequests,
      };
    },
    close: () => server.close(),
  };
}
