// Simulated RunPod serverless queue endpoint (docs: serverless/endpoints/job-operations, job-states and
// send-requests), the part a job gateway reads, under one endpoint's base
// (`https://api.runpod.ai/v2/{endpoint_id}` -> `http://127.0.0.1:PORT/v2/{endpoint_id}`):
// GET (or POST, as the docs' curl example does) status/{job_id} and POST cancel/{job_id}.
// Quirks kept on purpose, because the real API has them:
// - job ids are UUIDs with a `-u1` suffix (`60902e6c-08a1-426e-9cb9-9eaec90f5e2b-u1`); /runsync jobs
//   carry a `sync-` prefix;
// - statuses are IN_QUEUE, IN_PROGRESS, COMPLETED, FAILED, CANCELLED (two l) and TIMED_OUT; a job that
//   runs past its execution timeout (endpoint setting, 600 s by default, or the job's own policy)
//   ends TIMED_OUT;
// - the answer grows with the job: `{id, status}` while queued, `delayTime` (queue wait, ms) and
//   `workerId` once a worker has it, `executionTime` (ms) and `output` or `error` once it ends;
//   `error` of a FAILED job is a string holding JSON (`{"error_type", "error_message",
//   "error_traceback"}`, as the runpod worker SDK reports it), not an object;
// - results are kept only for a while: "Jobs submitted via /run expire 30 minutes after completion",
//   /runsync ones after 1 minute; after that the status route answers as for an unknown id;
// - cancel answers `{id, status: "CANCELLED"}` for a queued or running job and the job is CANCELLED
//   at once;
// - auth is `Authorization: Bearer <key>` (every docs example); there is no list route (`/requests`
//   appears only in the rate-limit table and is not served here).
// Not documented, so chosen here: the 404 body for an unknown or expired job
// (`{"error": "request does not exist"}`), the cancel answer for a finished job (200 with its
// unchanged status, nothing changes), and the 401 answer (empty body).
// Job states are derived from the clock on each request (no timers).
import { createHash } from 'node:crypto';
import { systemClock, type Clock } from '../../../simulation/clock.ts';
import { segments, startSimServer, type SimRequest, type SimResponse, type SimServer } from '../../../simulation/sim-server.ts';
import { buildSeeds, seededUuid, stepAt, type Simulation, type TimelineStep } from '../../../simulation/simulation.ts';

export const RUNPOD_STATUSES = ['IN_QUEUE', 'IN_PROGRESS', 'COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'] as const;
export type RunpodStatus = (typeof RUNPOD_STATUSES)[number];
const TERMINAL: ReadonlySet<RunpodStatus> = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT']);

/** How long a finished /run job stays readable. */
export const RUNPOD_RUN_RETENTION_MS = 30 * 60_000;
/** How long a finished /runsync job stays readable. */
export const RUNPOD_RUNSYNC_RETENTION_MS = 60_000;
/** The endpoint's default execution timeout. */
export const RUNPOD_DEFAULT_EXECUTION_TIMEOUT_MS = 600_000;
/** The body of a status or cancel request for an unknown or expired job (undocumented). */
export const RUNPOD_NOT_FOUND_BODY = { error: 'request does not exist' } as const;

export interface RunpodJobSpec {
  /** Default: a deterministic `<uuid>-u1` id (`sync-<uuid>-u1` for sync jobs). */
  id?: string;
  /** Submitted with /runsync: `sync-` id and a 1-minute retention. */
  sync?: boolean;
  /** The status the job is in now (default IN_QUEUE). */
  status?: RunpodStatus;
  /** IN_QUEUE: time until a worker takes it (default 20 s). */
  startsInMs?: number;
  /** Run time still to go once in progress (for IN_QUEUE: the whole run; default 30 s); null: until cancelled or timed out. */
  runsForMs?: number | null;
  /** IN_PROGRESS and terminal: how long ago a worker took it (default 10 s; terminal: 2 min before it ended). */
  startedAgoMs?: number;
  /** Terminal: how long ago it finished (default 5 min). */
  endedAgoMs?: number;
  /** How a run that finishes on its own ends (default COMPLETED). */
  ending?: 'COMPLETED' | 'FAILED';
  /** The job's own execution timeout (policy.executionTimeout); default: the endpoint's. */
  executionTimeoutMs?: number;
  output?: unknown;
  /** The error message of a FAILED job (wrapped in the worker SDK's JSON string). */
  errorMessage?: string;
}

/** What a test can read about one job. */
export interface RunpodJobView {
  id: string;
  status: RunpodStatus;
  /** Whether the status route has forgotten it (retention passed). */
  expired: boolean;
  cancelRequests: number;
}

export interface RunpodSimOptions {
  /** The API key the simulation accepts. */
  apiKey: string;
  /** The endpoint id served (default `sim4endpoint01`). */
  endpointId?: string;
  /** The endpoint's execution timeout (default 600 s). */
  executionTimeoutMs?: number;
  port?: number;
  host?: string;
  clock?: Clock;
  /** Namespace for seeded ids (default `runpod`). */
  namespace?: string;
  /** Seed one job per SEED_STATES entry (default true). */
  seed?: boolean;
}

export interface RunpodSim extends Simulation<'runpod'> {
  /** The endpoint's base: `http://127.0.0.1:PORT/v2/<endpointId>`. */
  readonly baseUrl: string;
  readonly endpointId: string;
  addJob(spec?: RunpodJobSpec): string;
  job(id: string): RunpodJobView | undefined;
}

type Step = TimelineStep<RunpodStatus>;

interface SimJob {
  id: string;
  sync: boolean;
  steps: Step[];
  createdAt: number;
  output: unknown;
  errorMessage: string;
  workerId: string;
  cancelRequests: number;
}

const MIN = 60_000;

function runpodId(uuid: string, sync: boolean): string {
  return `${sync ? 'sync-' : ''}${uuid}-u1`;
}

export async function startRunpodSim(options: RunpodSimOptions): Promise<RunpodSim> {
  const clock = options.clock ?? systemClock;
  const endpointId = options.endpointId ?? 'sim4endpoint01';
  const endpointTimeout = options.executionTimeoutMs ?? RUNPOD_DEFAULT_EXECUTION_TIMEOUT_MS;
  const namespace = options.namespace ?? 'runpod';
  const jobs = new Map<string, SimJob>();
  let counter = 0;

  const statusAt = (j: SimJob, t: number): Step => stepAt(j.steps, TERMINAL, t);
  const expiredAt = (j: SimJob, t: number): boolean => {
    const cur = statusAt(j, t);
    return TERMINAL.has(cur.status) && t >= cur.at + (j.sync ? RUNPOD_RUNSYNC_RETENTION_MS : RUNPOD_RUN_RETENTION_MS);
  };

  function addJob(spec: RunpodJobSpec = {}): string {
    const now = clock.now();
    const sync = spec.sync ?? false;
    const id = spec.id ?? runpodId(seededUuid(`${namespace}:added`, counter++), sync);
    const status = spec.status ?? 'IN_QUEUE';
    const ending = spec.ending ?? (status === 'FAILED' ? 'FAILED' : 'COMPLETED');
    const runsFor = spec.runsForMs === undefined ? 30_000 : spec.runsForMs;
    const timeout = spec.executionTimeoutMs ?? endpointTimeout;
    const steps: Step[] = [];
    let createdAt: number;
    // A run ends on its own, or TIMED_OUT when it would outlast the execution timeout.
    const finish = (startAt: number, endAt: number | null): void => {
      if (endAt !== null && endAt - startAt <= timeout) steps.push({ status: ending, at: endAt });
      else steps.push({ status: 'TIMED_OUT', at: startAt + timeout });
    };
    if (status === 'IN_QUEUE') {
      createdAt = now - 1_000;
      const startAt = now + (spec.startsInMs ?? 20_000);
      steps.push({ status: 'IN_QUEUE', at: createdAt }, { status: 'IN_PROGRESS', at: startAt });
      finish(startAt, runsFor === null ? null : startAt + runsFor);
    } else if (status === 'IN_PROGRESS') {
      const startAt = now - (spec.startedAgoMs ?? 10_000);
      createdAt = startAt - 4_000;
      steps.push({ status: 'IN_QUEUE', at: createdAt }, { status: 'IN_PROGRESS', at: startAt });
      finish(startAt, runsFor === null ? null : now + runsFor);
    } else {
      const endAt = now - (spec.endedAgoMs ?? 5 * MIN);
      if (status === 'CANCELLED' && spec.startedAgoMs === undefined) {
        // Cancelled while queued: no worker ever took it.
        createdAt = endAt - 20_000;
        steps.push({ status: 'IN_QUEUE', at: createdAt }, { status, at: endAt });
      } else {
        const startAt = Math.min(endAt, now - (spec.startedAgoMs ?? (spec.endedAgoMs ?? 5 * MIN) + 2 * MIN));
        createdAt = startAt - 4_000;
        steps.push({ status: 'IN_QUEUE', at: createdAt }, { status: 'IN_PROGRESS', at: startAt }, { status, at: endAt });
      }
    }
    jobs.set(id, {
      id,
      sync,
      steps,
      createdAt,
      output: spec.output !== undefined ? spec.output : { image_url: `https://sim.runpod.example/outputs/${id}.png`, seed: 46578 },
      errorMessage: spec.errorMessage ?? 'CUDA error: out of memory',
      workerId: createHash('sha1').update(id).digest('hex').slice(0, 14),
      cancelRequests: 0,
    });
    return id;
  }

  function render(j: SimJob, t: number): Record<string, unknown> {
    const cur = statusAt(j, t);
    const startStep = j.steps.find((s) => s.status === 'IN_PROGRESS' && s.at <= t && s.at <= cur.at);
    const body: Record<string, unknown> = {};
    if (startStep) body.delayTime = startStep.at - j.createdAt;
    if (startStep && TERMINAL.has(cur.status)) body.executionTime = cur.at - startStep.at;
    if (cur.status === 'FAILED') {
      body.error = JSON.stringify({
        error_type: "<class 'torch.OutOfMemoryError'>",
        error_message: j.errorMessage,
        error_traceback: `Traceback (most recent call last):\n  File "/handler.py", line 42, in handler\ntorch.OutOfMemoryError: ${j.errorMessage}\n`,
      });
    }
    body.id = j.id;
    if (cur.status === 'COMPLETED') body.output = j.output;
    body.status = cur.status;
    if (startStep) body.workerId = j.workerId;
    return body;
  }

  const notFound = (): SimResponse => ({ status: 404, json: RUNPOD_NOT_FOUND_BODY });

  function handle(req: SimRequest): SimResponse {
    const auth = req.headers.authorization;
    if (auth !== `Bearer ${options.apiKey}`) return { status: 401, text: '' };
    const segs = segments(req.path);
    if (segs === null || segs.length !== 4 || segs[0] !== 'v2' || segs[1] !== endpointId)
      return { status: 404, text: '404 page not found' };
    const [, , op, jobId] = segs as [string, string, string, string];
    const now = clock.now();
    const j = jobs.get(jobId);
    if (op === 'status') {
      if (req.method !== 'GET' && req.method !== 'POST') return { status: 405, text: 'Method Not Allowed' };
      if (!j || expiredAt(j, now)) return notFound();
      return { status: 200, json: render(j, now) };
    }
    if (op === 'cancel') {
      if (req.method !== 'POST') return { status: 405, text: 'Method Not Allowed' };
      if (!j || expiredAt(j, now)) return notFound();
      j.cancelRequests++;
      const cur = statusAt(j, now);
      if (TERMINAL.has(cur.status)) return { status: 200, json: { id: j.id, status: cur.status } };
      j.steps = j.steps.filter((s) => s.at <= now);
      j.steps.push({ status: 'CANCELLED', at: now });
      return { status: 200, json: { id: j.id, status: 'CANCELLED' } };
    }
    return { status: 404, text: '404 page not found' };
  }

  // The seeded queued job waits 10 min and the running one runs 8 more, as long as the other kinds'
  // seeds: a sandbox tour (and the end-to-end matrix, which moves the clock per project) finds them so.
  const seeds = buildSeeds(options.seed, namespace, (seeds, uuid) => {
    const id = (): string => runpodId(uuid(), false);
    seeds.queued.push(addJob({ id: id(), status: 'IN_QUEUE', startsInMs: 10 * MIN, runsForMs: MIN }));
    seeds.running.push(addJob({ id: id(), status: 'IN_PROGRESS', startedAgoMs: 20_000, runsForMs: 8 * MIN }));
    // A long job runs under its own execution-timeout policy, well past the endpoint's 600 s.
    seeds.long_running.push(
      addJob({ id: id(), status: 'IN_PROGRESS', startedAgoMs: 60 * MIN, runsForMs: 5 * 60 * MIN, executionTimeoutMs: 7 * 60 * MIN }),
    );
    seeds.succeeded.push(addJob({ id: id(), status: 'COMPLETED', endedAgoMs: 5 * MIN }));
    seeds.failed.push(addJob({ id: id(), status: 'FAILED', endedAgoMs: 10 * MIN }));
    seeds.cancelled.push(addJob({ id: id(), status: 'CANCELLED', endedAgoMs: 15 * MIN }));
  });

  const server: SimServer = await startSimServer(handle, {
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.host !== undefined ? { host: options.host } : {}),
  });

  return {
    kind: 'runpod',
    server,
    baseUrl: `${server.url}/v2/${endpointId}`,
    endpointId,
    seeds,
    addJob,
    job(id) {
      const j = jobs.get(id);
      if (!j) return undefined;
      const now = clock.now();
      return { id: j.id, status: statusAt(j, now).status, expired: expiredAt(j, now), cancelRequests: j.cancelRequests };
    },
    close: () => server.close(),
  };
}
