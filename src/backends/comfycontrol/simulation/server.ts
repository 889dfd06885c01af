// Simulated ComfyControl cloud API (docs/backends.md, ComfyControl):
//   GET  /v1/workflow/{id}         -> the full workflow record
//   POST /v1/workflow/{id}/cancel  -> 200 with an EMPTY body; the status flips to `cancelled` a few
//                                     seconds later (if the run completes first, it stays `completed`)
//   GET  /v1/workflow?page&per_page -> {workflows: [...], total}, newest first
// Quirks kept on purpose: cancel is not idempotent (400 for terminal jobs, and for `accepted` and
// `uploaded` ones), error bodies are `{"status": <int>, "message": "..."}`, and Cloudflare in front
// limits every client IP to 40 requests per 10 s: the 41st answers 429 and starts a 10 s cooldown during
// which every request is 429 (with Retry-After). Job states are derived from the clock on each request.
import { createHash } from 'node:crypto';
import { systemClock, type Clock } from '../../../simulation/clock.ts';
import { segments, startSimServer, type SimRequest, type SimResponse, type SimServer } from '../../../simulation/sim-server.ts';
import { buildSeeds, seededUuid, stepAt, type Simulation, type TimelineStep } from '../../../simulation/simulation.ts';

export const COMFYCONTROL_STATUSES = ['accepted', 'uploaded', 'queued', 'running', 'completed', 'failed', 'invalid', 'cancelled'] as const;
export type ComfycontrolStatus = (typeof COMFYCONTROL_STATUSES)[number];
const TERMINAL: ReadonlySet<ComfycontrolStatus> = new Set(['completed', 'failed', 'invalid', 'cancelled']);

export interface ComfycontrolJobSpec {
  id?: string;
  /** Owner; default: the token's user. Another user's workflow answers 404. */
  userId?: string;
  /** Status now (default `queued`). */
  status?: ComfycontrolStatus;
  /** Phase lengths (defaults: accepted 30 s, uploaded 30 s, queued 5 min, running 10 min); null: stays there. */
  acceptedForMs?: number | null;
  uploadedForMs?: number | null;
  queuedForMs?: number | null;
  runsForMs?: number | null;
  /** Time left in the current phase (default: the phase's full length). */
  remainingMs?: number | null;
  /** How long ago the current phase began (default 10 s; running 2 min; terminal 5 min). */
  sinceMs?: number;
  /** How a run ends (default `completed`; `invalid` ends right after `accepted`). */
  ending?: 'completed' | 'failed' | 'invalid';
  errorNode?: string;
  exceptionType?: string;
  exceptionMessage?: string;
  /** Cancel answers 500 (the runner cannot be reached). */
  runnerUnreachable?: boolean;
  name?: string;
  tags?: string[];
}

type Step = TimelineStep<ComfycontrolStatus>;

interface SimJob {
  id: string;
  userId: string;
  steps: Step[];
  spec: ComfycontrolJobSpec;
  promptId: string;
  queueNumber: number;
  runnerId: string;
  cancelRequestedAt: number | undefined;
}

export interface ComfycontrolJobView {
  id: string;
  userId: string;
  status: ComfycontrolStatus;
  record: Record<string, unknown>;
  cancelRequestedAt: number | undefined;
}

export interface ComfycontrolRateLimit {
  requests: number;
  perSeconds: number;
  cooldownSeconds: number;
}

export interface ComfycontrolSimOptions {
  token: string;
  port?: number;
  host?: string;
  clock?: Clock;
  namespace?: string;
  seed?: boolean;
  /** Cloudflare's per-IP limit (default 40 requests / 10 s, then a 10 s cooldown). */
  rateLimit?: ComfycontrolRateLimit;
  /** How long the runner takes to stop after a cancel (default 5 s of clock time). */
  cancelDelayMs?: number;
}

export interface ComfycontrolSim extends Simulation<'comfycontrol'> {
  readonly baseUrl: string;
  /** The user the token belongs to. */
  readonly userId: string;
  /** Seeds outside SEED_STATES: workflows not yet cancellable (`accepted`) and one rejected as `invalid`. */
  readonly extraSeeds: Readonly<{ accepted: readonly string[]; invalid: readonly string[] }>;
  /** How many requests the rate limiter answered with 429. */
  readonly rateLimitedResponses: number;
  addJob(spec?: ComfycontrolJobSpec): string;
  job(id: string): ComfycontrolJobView | undefined;
}

const MIN = 60_000;

export async function startComfycontrolSim(options: ComfycontrolSimOptions): Promise<ComfycontrolSim> {
  const clock = options.clock ?? systemClock;
  const namespace = options.namespace ?? 'comfycontrol';
  const cancelDelay = options.cancelDelayMs ?? 5_000;
  const limit = options.rateLimit ?? { requests: 40, perSeconds: 10, cooldownSeconds: 10 };
  const userId = seededUuid(`${namespace}:user`, 0);
  const jobs = new Map<string, SimJob>();
  let counter = 0;
  let queueCounter = 1000;

  const statusAt = (job: SimJob, t: number): Step => stepAt(job.steps, TERMINAL, t);

  function addJob(spec: ComfycontrolJobSpec = {}): string {
    const now = clock.now();
    const id = spec.id ?? seededUuid(`${namespace}:added`, counter++);
    const status = spec.status ?? 'queued';
    const ending = spec.ending ?? (status === 'failed' ? 'failed' : status === 'invalid' ? 'invalid' : 'completed');
    const final: ComfycontrolStatus = TERMINAL.has(status) ? status : ending;
    const path: ComfycontrolStatus[] = final === 'invalid' ? ['accepted', 'invalid'] : ['accepted', 'uploaded', 'queued', 'running', final];
    if (!path.includes(status)) throw new Error(`comfycontrol sim: a job cannot be ${status} on its way to ${final}`);
    const length = (s: ComfycontrolStatus): number | null => {
      const v =
        s === 'accepted'
          ? spec.acceptedForMs
          : s === 'uploaded'
            ? spec.uploadedForMs
            : s === 'queued'
              ? spec.queuedForMs
              : s === 'running'
                ? spec.runsForMs
                : null;
      if (v !== undefined) return v;
      return s === 'accepted' || s === 'uploaded' ? 30_000 : s === 'queued' ? 5 * MIN : s === 'running' ? 10 * MIN : null;
    };
    const i = path.indexOf(status);
    const since = spec.sinceMs ?? (TERMINAL.has(status) ? 5 * MIN : status === 'running' ? 2 * MIN : 10_000);
    const start = now - since;
    const steps: Step[] = [{ status, at: start }];
    let back = start;
    for (let j = i - 1; j >= 0; j--) {
      back -= length(path[j]!) ?? MIN;
      steps.unshift({ status: path[j]!, at: back });
    }
    let fwd = now;
    for (let j = i; j < path.length - 1; j++) {
      const d = j === i ? (spec.remainingMs !== undefined ? spec.remainingMs : length(path[j]!)) : length(path[j]!);
      if (d === null) break;
      fwd += d;
      steps.push({ status: path[j + 1]!, at: fwd });
    }
    const promptId = createHash('sha1').update(`prompt:${id}`).digest('hex');
    jobs.set(id, {
      id,
      userId: spec.userId ?? userId,
      steps,
      spec: { ...spec, ending },
      promptId: `${promptId.slice(0, 8)}-${promptId.slice(8, 12)}-4${promptId.slice(13, 16)}-8${promptId.slice(17, 20)}-${promptId.slice(20, 32)}`,
      queueNumber: queueCounter++,
      runnerId: seededUuid(`${namespace}:runner`, 0),
      cancelRequestedAt: undefined,
    });
    return id;
  }

  const iso = (ms: number): string => new Date(ms).toISOString();

  function render(job: SimJob, t: number): Record<string, unknown> {
    const cur = statusAt(job, t);
    const reached = (s: ComfycontrolStatus): Step | undefined => job.steps.find((x) => x.status === s && x.at <= t && x.at <= cur.at);
    const queued = reached('queued');
    const running = reached('running');
    const failed = cur.status === 'failed';
    const spec = job.spec;
    return {
      id: job.id,
      user_id: job.userId,
      name: spec.name ?? 'portrait-upscale',
      status: cur.status,
      user_runner_id: null,
      managed_runner_id: queued ? job.runnerId : null,
      tags: spec.tags ?? ['sandbox'],
      workflow_json: {
        '3': { class_type: 'KSampler', inputs: { seed: 42, steps: 20, cfg: 7, model: ['4', 0] } },
        '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'sd_xl_base_1.0.safetensors' } },
        '9': { class_type: 'SaveImage', inputs: { images: ['8', 0], filename_prefix: 'cc' } },
      },
      workflow_params: { $prompt: 'a lighthouse at dusk' },
      prompt_id: queued ? job.promptId : null,
      queue_number: queued ? job.queueNumber : null,
      // `error_*` fields are set only when the status is `failed`.
      error_node: failed ? (spec.errorNode ?? '3') : null,
      exception_type: failed ? (spec.exceptionType ?? 'torch.OutOfMemoryError') : null,
      exception_message: failed ? (spec.exceptionMessage ?? 'CUDA out of memory. Tried to allocate 2.00 GiB') : null,
      created_at: iso(job.steps[0]!.at),
      updated_at: iso(cur.at),
      started_at: running ? iso(running.at) : null,
      completed_at: TERMINAL.has(cur.status) ? iso(cur.at) : null,
    };
  }

  const err = (status: number, message: string): SimResponse => ({ status, json: { status, message } });

  // Cloudflare's limiter. The sim server does not expose the peer address, and on loopback every client
  // is 127.0.0.1 anyway, so there is one bucket (X-Forwarded-For is not trusted: that would be kinder
  // than Cloudflare, which counts the connecting IP).
  let stamps: number[] = [];
  let blockedUntil = 0;
  let rateLimited = 0;
  function rateLimit(now: number): SimResponse | null {
    if (now < blockedUntil) {
      rateLimited++;
      return tooMany(Math.ceil((blockedUntil - now) / 1000));
    }
    const windowMs = limit.perSeconds * 1000;
    stamps = stamps.filter((s) => s > now - windowMs);
    if (stamps.length >= limit.requests) {
      blockedUntil = now + limit.cooldownSeconds * 1000;
      stamps = [];
      rateLimited++;
      return tooMany(limit.cooldownSeconds);
    }
    stamps.push(now);
    return null;
  }
  // Cloudflare's own 429 page is HTML, not the API's JSON error shape.
  const tooMany = (seconds: number): SimResponse => ({
    status: 429,
    text: '<!DOCTYPE html><html><head><title>Error 1015: You are being rate limited</title></head><body>You are being rate limited.</body></html>',
    headers: { 'content-type': 'text/html; charset=UTF-8', 'retry-after': String(Math.max(1, seconds)) },
  });

  function handle(req: SimRequest): SimResponse {
    const now = clock.now();
    const limited = rateLimit(now);
    if (limited) return limited;

    const segs = segments(req.path);
    if (segs === null) return err(400, 'Malformed path');
    if (segs[0] !== 'v1' || segs[1] !== 'workflow' || segs.length > 4 || (segs.length === 4 && segs[3] !== 'cancel'))
      return err(404, 'Not found');
    const auth = req.headers.authorization;
    const m = typeof auth === 'string' ? /^Bearer (.+)$/.exec(auth) : null;
    if (!m || m[1] !== options.token) return err(401, 'Invalid or expired API token');

    if (segs.length === 2) {
      if (req.method !== 'GET') return err(405, 'Method not allowed');
      const page = Number(req.query.get('page') ?? '1');
      const perPage = Number(req.query.get('per_page') ?? '10');
      if (!Number.isInteger(page) || page < 1 || !Number.isInteger(perPage) || perPage < 10 || perPage > 100) {
        return err(400, 'page must be >= 1 and per_page between 10 and 100');
      }
      const mine = [...jobs.values()].filter((j) => j.userId === userId).sort((a, b) => b.steps[0]!.at - a.steps[0]!.at);
      const workflows = mine.slice((page - 1) * perPage, page * perPage).map((j) => {
        const r = render(j, now);
        return {
          id: r.id,
          name: r.name,
          status: r.status,
          tags: r.tags,
          created_at: r.created_at,
          updated_at: r.updated_at,
          started_at: r.started_at,
          completed_at: r.completed_at,
        };
      });
      return { status: 200, json: { workflows, total: mine.length } };
    }

    const job = jobs.get(segs[2]!);
    // Unknown and another user's workflows look the same.
    if (!job || job.userId !== userId) return err(404, 'Workflow not found');
    if (segs.length === 3) {
      if (req.method !== 'GET') return err(405, 'Method not allowed');
      return { status: 200, json: render(job, now) };
    }
    if (req.method !== 'POST') return err(405, 'Method not allowed');
    const cur = statusAt(job, now).status;
    // `invalid` counts as terminal for cancel (an open question of docs/backends.md; the stricter
    // answer is 400). The exact 400 message strings are not documented; this one does not say which
    // case applies.
    if (cur !== 'queued' && cur !== 'running') return err(400, 'Workflow cannot be cancelled in its current state');
    if (job.spec.runnerUnreachable) return err(500, 'Failed to signal the runner');
    if (job.cancelRequestedAt === undefined) {
      // Graceful: the runner is signalled; the status flips a few seconds later unless the run ends first.
      const cancelAt = now + cancelDelay;
      job.steps = job.steps.filter((s) => s.at < cancelAt);
      job.steps.push({ status: 'cancelled', at: cancelAt });
      job.cancelRequestedAt = now;
    }
    return { status: 200, text: '' };
  }

  const extraSeeds = { accepted: [] as string[], invalid: [] as string[] };
  const seeds = buildSeeds(options.seed, namespace, (seeds, id) => {
    const HOUR = 60 * MIN;
    seeds.queued.push(addJob({ id: id(), status: 'queued', remainingMs: 5 * MIN }));
    seeds.running.push(addJob({ id: id(), status: 'running', sinceMs: 2 * MIN, remainingMs: 10 * MIN }));
    seeds.long_running.push(addJob({ id: id(), status: 'running', sinceMs: HOUR, remainingMs: 5 * HOUR, name: 'video-interpolation' }));
    seeds.succeeded.push(addJob({ id: id(), status: 'completed' }));
    seeds.failed.push(addJob({ id: id(), status: 'failed' }));
    seeds.cancelled.push(addJob({ id: id(), status: 'cancelled' }));
    // Accepted but not yet uploaded to a runner: cannot be cancelled (400). It stays accepted in the
    // sandbox so the case can be tried at any time.
    extraSeeds.accepted.push(addJob({ id: id(), status: 'accepted', remainingMs: null }));
    extraSeeds.invalid.push(addJob({ id: id(), status: 'invalid' }));
  });

  const server: SimServer = await startSimServer(handle, {
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.host !== undefined ? { host: options.host } : {}),
  });

  return {
    kind: 'comfycontrol',
    server,
    baseUrl: server.url,
    userId,
    seeds,
    extraSeeds,
    get rateLimitedResponses() {
      return rateLimited;
    },
    addJob,
    job(id) {
      const j = jobs.get(id);
      if (!j) return undefined;
      const now = clock.now();
      return {
        id: j.id,
        userId: j.userId,
        status: statusAt(j, now).status,
        record: render(j, now),
        cancelRequestedAt: j.cancelRequestedAt,
      };
    },
    close: () => server.close(),
  };
}
