// Simulated Veryfront-style project runtime (docs/backends.md, project runtime): the Jobs REST API
// under /projects/{project_reference}, where the reference is a project slug or id.
//   GET  /projects/{p}/jobs/{job_id}         -> Job
//   POST /projects/{p}/jobs/{job_id}/cancel  -> the updated Job
//   GET  /projects/{p}/jobs                  -> {data: [JobListItem], page_info} (list.ts)
// Where the runtime's documentation is silent, the simulation takes the stricter
// plausible choice, each commented below. Job states are derived from the clock on each request (no
// timers).
import { randomUUID } from 'node:crypto';
import { systemClock, type Clock } from '../../../simulation/clock.ts';
import { listPage } from './list.ts';
import { segments, startSimServer, type SimRequest, type SimResponse, type SimServer } from '../../../simulation/sim-server.ts';
import { buildSeeds, seededUuid, stepAt, type Simulation, type TimelineStep } from '../../../simulation/simulation.ts';

export const RUNTIME_JOB_STATUSES = ['submitted', 'working', 'completed', 'failed', 'canceled'] as const;
export type RuntimeJobStatus = (typeof RUNTIME_JOB_STATUSES)[number];
const TERMINAL: ReadonlySet<RuntimeJobStatus> = new Set(['completed', 'failed', 'canceled']);

export interface RuntimeJobSpec {
  /** A UUID (default: generated). */
  id?: string;
  /** Project slug owning the job (default: the first of `projects`). A slug not in `projects` creates a project the token cannot access. */
  project?: string;
  /** Status now (default `submitted`). */
  status?: RuntimeJobStatus;
  /** submitted: time until it starts working (default 5 min). */
  startsInMs?: number;
  /** Remaining run time once working (for submitted: the whole run; default 10 min); null: runs until cancelled. */
  runsForMs?: number | null;
  /** working and terminal jobs: how long ago they started (default 2 min; terminal 30 min). */
  startedAgoMs?: number;
  /** Terminal jobs: how long ago they finished (default 5 min). */
  endedAgoMs?: number;
  /** How a run ends (default `completed`). */
  ending?: 'completed' | 'failed';
  /** `result_summary.state` of a completed knowledge-ingest job; omitted: `result_summary` is null. */
  resultState?: 'success' | 'partial_success' | 'failed';
  failedReason?: string;
  failureDetail?: string;
  exitCode?: number;
  name?: string;
  target?: string;
}

type Step = TimelineStep<RuntimeJobStatus>;

interface SimJob {
  id: string;
  project: string;
  steps: Step[];
  createdAt: number;
  spec: RuntimeJobSpec;
  cancelRequestedAt: number | undefined;
  runId: string;
}

export interface RuntimeJobView {
  id: string;
  project: string;
  status: RuntimeJobStatus;
  record: Record<string, unknown>;
  /** When the last accepted cancel arrived (clock ms). */
  cancelRequestedAt: number | undefined;
}

export interface ProjectRuntimeSimOptions {
  token: string;
  /** Project references (slugs) this token may access; each also gets a UUID project id. */
  projects: string[];
  port?: number;
  host?: string;
  clock?: Clock;
  namespace?: string;
  seed?: boolean;
  /** How long a cooperative stop of a `working` job takes (default 5 s of clock time). */
  cancelDelayMs?: number;
}

export interface ProjectRuntimeSim extends Simulation<'project_runtime'> {
  /** Base URL (the API has no prefix): `http://127.0.0.1:PORT`. */
  readonly baseUrl: string;
  /** Project id (UUID) by slug, for every project known to the simulation. */
  readonly projectIds: ReadonlyMap<string, string>;
  addJob(spec?: RuntimeJobSpec): string;
  job(id: string): RuntimeJobView | undefined;
}

const UUID_ANY_CASE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MIN = 60_000;

export async function startProjectRuntimeSim(options: ProjectRuntimeSimOptions): Promise<ProjectRuntimeSim> {
  if (options.projects.length === 0) throw new Error('startProjectRuntimeSim: at least one project is needed');
  const clock = options.clock ?? systemClock;
  const namespace = options.namespace ?? 'project_runtime';
  const cancelDelay = options.cancelDelayMs ?? 5_000;
  const accessible = new Set(options.projects);
  const projectIds = new Map<string, string>();
  let projectCounter = 0;
  const ensureProject = (slug: string): string => {
    let id = projectIds.get(slug);
    if (!id) {
      id = seededUuid(`${namespace}:project`, projectCounter++);
      projectIds.set(slug, id);
    }
    return id;
  };
  for (const p of options.projects) ensureProject(p);
  const jobs = new Map<string, SimJob>();
  const creator = seededUuid(`${namespace}:user`, 0);

  const statusAt = (job: SimJob, t: number): Step => stepAt(job.steps, TERMINAL, t);

  function addJob(spec: RuntimeJobSpec = {}): string {
    const now = clock.now();
    const id = (spec.id ?? randomUUID()).toLowerCase();
    const project = spec.project ?? options.projects[0]!;
    ensureProject(project);
    const status = spec.status ?? 'submitted';
    const ending = spec.ending ?? (status === 'failed' ? 'failed' : 'completed');
    const runsFor = spec.runsForMs === undefined ? 10 * MIN : spec.runsForMs;
    const steps: Step[] = [];
    let createdAt: number;
    if (status === 'submitted') {
      createdAt = now - MIN;
      const startAt = now + (spec.startsInMs ?? 5 * MIN);
      steps.push({ status: 'submitted', at: createdAt }, { status: 'working', at: startAt });
      if (runsFor !== null) steps.push({ status: ending, at: startAt + runsFor });
    } else if (status === 'working') {
      const startAt = now - (spec.startedAgoMs ?? 2 * MIN);
      createdAt = startAt - MIN;
      steps.push({ status: 'submitted', at: createdAt }, { status: 'working', at: startAt });
      if (runsFor !== null) steps.push({ status: ending, at: now + runsFor });
    } else {
      const endAt = now - (spec.endedAgoMs ?? 5 * MIN);
      const startAt = Math.min(endAt, now - (spec.startedAgoMs ?? 30 * MIN));
      createdAt = startAt - MIN;
      steps.push({ status: 'submitted', at: createdAt }, { status: 'working', at: startAt }, { status, at: endAt });
    }
    jobs.set(id, { id, project, steps, createdAt, spec: { ...spec, ending }, cancelRequestedAt: undefined, runId: randomUUID() });
    return id;
  }

  const iso = (ms: number): string => new Date(ms).toISOString();

  function render(job: SimJob, t: number): Record<string, unknown> {
    const cur = statusAt(job, t);
    const spec = job.spec;
    const started = job.steps.find((s) => s.status === 'working' && s.at <= t && s.at <= cur.at);
    const done = TERMINAL.has(cur.status);
    const failed = cur.status === 'failed';
    const completed = cur.status === 'completed';
    const resultSummary =
      completed && spec.resultState
        ? {
            kind: 'knowledge_ingest',
            state: spec.resultState,
            requested_count: 10,
            ingested_count: spec.resultState === 'success' ? 10 : spec.resultState === 'partial_success' ? 7 : 0,
            skipped_count: 0,
            failed_count: spec.resultState === 'success' ? 0 : spec.resultState === 'partial_success' ? 3 : 10,
          }
        : null;
    return {
      id: job.id,
      project_id: projectIds.get(job.project),
      environment_id: null,
      branch_id: null,
      cron_job_id: null,
      batch_id: null,
      name: spec.name ?? 'Nightly knowledge ingest',
      status: cur.status,
      target: spec.target ?? 'task:knowledge-ingest',
      config: { path_prefix: 'docs/' },
      context_id: null,
      timeout_seconds: 3600,
      backoff_limit: 2,
      exit_code: completed ? 0 : failed ? (spec.exitCode ?? 1) : cur.status === 'canceled' && started ? 143 : null,
      failed_reason: failed ? (spec.failedReason ?? 'BackoffLimitExceeded') : null,
      started_at: started ? iso(started.at) : null,
      completed_at: done ? iso(cur.at) : null,
      created_by: creator,
      created_at: iso(job.createdAt),
      updated_at: iso(Math.max(cur.at, job.cancelRequestedAt !== undefined && job.cancelRequestedAt <= t ? job.cancelRequestedAt : 0)),
      kind: spec.resultState ? 'knowledge_ingest' : null,
      failure_detail: failed ? (spec.failureDetail ?? 'Task exited with code 1: parser_error in docs/guide.pdf') : null,
      result_summary: resultSummary,
      result: completed && !spec.resultState ? { kind: 'value', value: { ok: true } } : null,
    };
  }

  // Error bodies are not documented; the simulation answers `{"error": {"code", "message"}}`.
  const err = (status: number, code: string, message: string): SimResponse => ({ status, json: { error: { code, message } } });

  function handle(req: SimRequest): SimResponse {
    const segs = segments(req.path);
    if (segs === null) return err(400, 'bad_request', 'Malformed path');
    if (segs[0] !== 'projects' || segs[2] !== 'jobs' || segs.length < 3 || segs.length > 5 || (segs.length === 5 && segs[4] !== 'cancel')) {
      return err(404, 'not_found', 'Route not found');
    }
    const auth = req.headers.authorization;
    const m = typeof auth === 'string' ? /^Bearer (.+)$/.exec(auth) : null;
    if (!m || m[1] !== options.token) return err(401, 'unauthorized', 'Missing or invalid bearer token');

    // The reference is a slug or the project's id.
    const ref = segs[1]!;
    let slug: string | undefined;
    for (const [s, pid] of projectIds) if (s === ref || pid === ref.toLowerCase()) slug = s;
    if (slug === undefined) return err(404, 'not_found', 'Project not found');
    // A token scoped to other projects gets 403 for a project that exists [INF: 403 or 404 are both
    // plausible; 403 is picked so a gateway configured with the wrong project hears "forbidden"].
    if (!accessible.has(slug)) return err(403, 'forbidden', `Token has no access to project '${ref}'`);

    const now = clock.now();
    if (segs.length === 3) {
      if (req.method !== 'GET') return err(405, 'method_not_allowed', 'Method not allowed');
      const rows = [...jobs.values()]
        .filter((j) => j.project === slug)
        .map((j) => ({ id: j.id, createdAt: j.createdAt, status: statusAt(j, now).status, record: render(j, now) }));
      const page = listPage(req.query, rows, RUNTIME_JOB_STATUSES);
      return page.ok ? { status: 200, json: page.json } : err(400, 'validation_error', page.message);
    }
    const jobId = segs[3]!;
    // `job_id` is `string<uuid>`: a non-UUID is a validation error. [INF: 400 or 422; 400 picked, as
    // path-parameter validation errors usually are.]
    if (!UUID_ANY_CASE.test(jobId)) return err(400, 'validation_error', 'job_id must be a UUID');
    const job = jobs.get(jobId.toLowerCase());
    // Unknown ids and jobs of another project are the same 404 (undocumented, and the safe reading): nothing about other projects leaks.
    if (!job || job.project !== slug) return err(404, 'not_found', 'Job not found');

    if (segs.length === 4) {
      if (req.method !== 'GET') return err(405, 'method_not_allowed', 'Method not allowed');
      return { status: 200, json: render(job, now) };
    }
    if (req.method !== 'POST') return err(405, 'method_not_allowed', 'Method not allowed');
    const cur = statusAt(job, now);
    // Cancelling a finished job: the real status code is undocumented [INF: 409 or 400]; 409 picked.
    if (TERMINAL.has(cur.status)) return err(409, 'conflict', `Job is already ${cur.status} and cannot be canceled`);
    if (cur.status === 'submitted') {
      // Not started yet: removed from the queue at once.
      job.steps = job.steps.filter((s) => s.at <= now);
      job.steps.push({ status: 'canceled', at: now });
      job.cancelRequestedAt = now;
    } else if (job.cancelRequestedAt === undefined) {
      // Working: a cooperative stop. The answer still says `working` [INF: whether the returned status is
      // already `canceled` is undocumented; the stricter choice is picked]; it flips to `canceled` a few
      // seconds later, unless the run finishes first (then it stays completed or failed).
      const cancelAt = now + cancelDelay;
      job.steps = job.steps.filter((s) => s.at < cancelAt);
      job.steps.push({ status: 'canceled', at: cancelAt });
      job.cancelRequestedAt = now;
    }
    // A second cancel while the stop is pending answers the job again (still `working`).
    return { status: 200, json: { ...render(job, now), canonical_run_id: job.runId } };
  }

  const seeds = buildSeeds(options.seed, namespace, (seeds, id) => {
    const HOUR = 60 * MIN;
    seeds.queued.push(addJob({ id: id(), status: 'submitted', startsInMs: 5 * MIN }));
    seeds.running.push(addJob({ id: id(), status: 'working', startedAgoMs: 2 * MIN, runsForMs: 10 * MIN }));
    seeds.long_running.push(addJob({ id: id(), status: 'working', startedAgoMs: HOUR, runsForMs: 5 * HOUR, name: 'Full re-index' }));
    seeds.succeeded.push(addJob({ id: id(), status: 'completed', resultState: 'success' }));
    // A completed job whose result summary reports partial success: still `completed`.
    seeds.succeeded.push(addJob({ id: id(), status: 'completed', resultState: 'partial_success' }));
    seeds.failed.push(addJob({ id: id(), status: 'failed', exitCode: 1 }));
    seeds.cancelled.push(addJob({ id: id(), status: 'canceled' }));
  });

  const server: SimServer = await startSimServer(handle, {
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.host !== undefined ? { host: options.host } : {}),
  });

  return {
    kind: 'project_runtime',
    server,
    baseUrl: server.url,
    projectIds,
    seeds,
    addJob,
    job(id) {
      const j = jobs.get(id.toLowerCase());
      if (!j) return undefined;
      const now = clock.now();
      return {
        id: j.id,
        project: j.project,
        status: statusAt(j, now).status,
        record: render(j, now),
        cancelRequestedAt: j.cancelRequestedAt,
      };
    },
    close: () => server.close(),
  };
}
