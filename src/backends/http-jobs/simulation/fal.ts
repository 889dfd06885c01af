// Simulated fal.ai queue API (https://fal.ai/docs/documentation/model-apis/inference/queue and the
// inference API reference), the part a job gateway reads, served under one app's queue base
// (`https://queue.fal.run/fal-ai/flux` -> `http://127.0.0.1:PORT/fal-ai/flux`):
// GET requests/{id}/status, GET requests/{id} (the result) and PUT requests/{id}/cancel.
// Quirks kept on purpose, because the real API has them:
// - the status route knows only IN_QUEUE, IN_PROGRESS and COMPLETED: a request that failed, or was
//   cancelled, reads COMPLETED there; only the result route tells, by answering the error's own
//   status code and body (fal's error reference: `{"detail": [{loc, msg, type, url, input}]}`, 422 for
//   e.g. content_policy_violation, with the `X-Fal-Retryable` header);
// - the status route answers 202 while the request is queued or in progress and 200 once it is
//   COMPLETED ("The API returns 202 while the request is in the queue or in progress, and 200 when it
//   is complete");
// - `logs` is null unless the status is asked with `?logs=1`; `queue_position` (requests ahead) only
//   while IN_QUEUE; `metrics.inference_time` only once COMPLETED;
// - cancel answers 202 `{"status": "CANCELLATION_REQUESTED"}` for a queued or running request, 400
//   `{"status": "ALREADY_COMPLETED"}` for a finished one and 404 `{"status": "NOT_FOUND"}` for an
//   unknown one. A queued request is removed at once; for a running one fal only signals the runner and
//   "the model app decides how to stop the work": it stays IN_PROGRESS until the app stops (a couple of
//   seconds here), and an app that ignores cancellation runs to its normal end;
// - a request submitted to a sub-path (`fal-ai/flux/dev`) has its status, result and cancel URLs under
//   the app's base without the sub-path (`fal-ai/flux/requests/...`, docs: "The status, result, and
//   cancel URLs use only the owner and the app"); the sub-path form is no route (404);
// - there is no list route: `GET requests` answers as any unknown route does;
// - request ids are UUIDs (version 4 layout), e.g. `80e732af-660e-45cd-bd63-580e4f2a94cc`;
// - auth is `Authorization: Key <key>`; Bearer is not accepted (401).
// Not documented, so chosen here and named in constants: the body of an unknown route (404
// `{"detail": "Not Found"}`), of an unknown id on the status and result routes (404
// `{"detail": "Request not found"}`), of the result of an unfinished request (400
// `{"detail": "Request is still in progress"}`), of a cancelled request's result (FAL_CANCELLED_RESULT)
// and of the 401 texts.
// Job states are derived from the clock on each request (no timers).
import { systemClock, type Clock } from '../../../simulation/clock.ts';
import { segments, startSimServer, type SimRequest, type SimResponse, type SimServer } from '../../../simulation/sim-server.ts';
import { buildSeeds, seededUuid, stepAt, type Simulation, type TimelineStep } from '../../../simulation/simulation.ts';

export const FAL_STATUSES = ['IN_QUEUE', 'IN_PROGRESS', 'COMPLETED'] as const;
export type FalStatus = (typeof FAL_STATUSES)[number];
/** How a request ended (or `pending`), which the status route does not tell. */
export type FalOutcome = 'pending' | 'ok' | 'error' | 'cancelled';

/** What the result route answers for a request cancelled before it finished (undocumented). */
export const FAL_CANCELLED_RESULT = { status: 400, body: { detail: 'Request cancelled' } } as const;
/** How long a running app takes to stop after a cancellation signal. */
export const FAL_CANCEL_STOP_MS = 2_000;

export interface FalFailure {
  /** HTTP status of the result route. */
  status: number;
  /** JSON body of the result route. */
  body: unknown;
  /** `X-Fal-Retryable` header (default false). */
  retryable?: boolean;
}

export interface FalRequestSpec {
  /** Default: a deterministic UUID. */
  id?: string;
  /** Sub-path the request was submitted to (`dev` for `fal-ai/flux/dev`); its URLs still use the app base. */
  subpath?: string;
  /** The status the request is in now (default IN_QUEUE). */
  status?: FalStatus;
  /** COMPLETED: how it ended (default ok). */
  outcome?: 'ok' | 'error' | 'cancelled';
  /** IN_QUEUE: time until a runner takes it (default 30 s). */
  startsInMs?: number;
  /** Run time still to go once in progress (for IN_QUEUE: the whole run; default 20 s); null: runs until cancelled. */
  runsForMs?: number | null;
  /** IN_PROGRESS and COMPLETED: how long ago a runner took it (default 10 s; COMPLETED: 20 s before it finished). */
  startedAgoMs?: number;
  /** COMPLETED: how long ago it finished (default 5 min). */
  endedAgoMs?: number;
  /** How a run that finishes on its own ends (default ok). */
  ending?: 'ok' | 'error';
  /** The result body of a successful request. */
  result?: unknown;
  /** The result route's answer for a failed request (default: 422 content_policy_violation). */
  failure?: FalFailure;
  /** Whether the app stops when a running request is cancelled (default true). */
  honorsCancel?: boolean;
}

/** What a test can read about one request. */
export interface FalRequestView {
  id: string;
  status: FalStatus;
  outcome: FalOutcome;
  subpath: string | undefined;
  /** PUT cancel requests that reached this request (including refused ones). */
  cancelRequests: number;
}

export interface FalSimOptions {
  /** The API key the simulation accepts. */
  key: string;
  /** The app whose queue is served, owner/name (default `fal-ai/flux`). */
  app?: string;
  port?: number;
  host?: string;
  clock?: Clock;
  /** Namespace for seeded ids (default `fal`). */
  namespace?: string;
  /** Seed one request per SEED_STATES entry (default true). */
  seed?: boolean;
}

export interface FalSim extends Simulation<'fal'> {
  /** The app's queue base: `http://127.0.0.1:PORT/<app>`. */
  readonly baseUrl: string;
  readonly app: string;
  addRequest(spec?: FalRequestSpec): string;
  request(id: string): FalRequestView | undefined;
}

type Phase = 'IN_QUEUE' | 'IN_PROGRESS' | 'OK' | 'ERROR' | 'CANCELLED';
type Step = TimelineStep<Phase>;
const TERMINAL: ReadonlySet<Phase> = new Set(['OK', 'ERROR', 'CANCELLED']);

interface SimRequestRecord {
  id: string;
  subpath: string | undefined;
  steps: Step[];
  createdAt: number;
  /** Insertion order, which breaks ties of createdAt in the queue. */
  seq: number;
  result: unknown;
  failure: FalFailure;
  honorsCancel: boolean;
  cancelRequests: number;
}

const MIN = 60_000;

/** A fal-style request id: a deterministic UUID in the version 4 layout. */
function falUuid(namespace: string, n: number): string {
  const u = seededUuid(namespace, n);
  return `${u.slice(0, 14)}4${u.slice(15)}`;
}

export async function startFalSim(options: FalSimOptions): Promise<FalSim> {
  const clock = options.clock ?? systemClock;
  const app = (options.app ?? 'fal-ai/flux').replace(/^\/+|\/+$/g, '');
  const appSegs = app.split('/');
  const namespace = options.namespace ?? 'fal';
  const requests = new Map<string, SimRequestRecord>();
  let counter = 0;
  let base = '';

  const phaseAt = (r: SimRequestRecord, t: number): Step => stepAt(r.steps, TERMINAL, t);
  const wire = (p: Phase): FalStatus => (p === 'IN_QUEUE' || p === 'IN_PROGRESS' ? p : 'COMPLETED');
  const outcomeOf = (p: Phase): FalOutcome => (p === 'OK' ? 'ok' : p === 'ERROR' ? 'error' : p === 'CANCELLED' ? 'cancelled' : 'pending');

  function addRequest(spec: FalRequestSpec = {}): string {
    const now = clock.now();
    const id = spec.id ?? falUuid(`${namespace}:added`, counter++);
    const status = spec.status ?? 'IN_QUEUE';
    const ending: Phase = (spec.ending ?? 'ok') === 'ok' ? 'OK' : 'ERROR';
    const runsFor = spec.runsForMs === undefined ? 20_000 : spec.runsForMs;
    const steps: Step[] = [];
    let createdAt: number;
    if (status === 'IN_QUEUE') {
      createdAt = now - 1_000;
      const startAt = now + (spec.startsInMs ?? 30_000);
      steps.push({ status: 'IN_QUEUE', at: createdAt }, { status: 'IN_PROGRESS', at: startAt });
      if (runsFor !== null) steps.push({ status: ending, at: startAt + runsFor });
    } else if (status === 'IN_PROGRESS') {
      const startAt = now - (spec.startedAgoMs ?? 10_000);
      createdAt = startAt - 2_000;
      steps.push({ status: 'IN_QUEUE', at: createdAt }, { status: 'IN_PROGRESS', at: startAt });
      if (runsFor !== null) steps.push({ status: ending, at: now + runsFor });
    } else {
      const endAt = now - (spec.endedAgoMs ?? 5 * MIN);
      const outcome = spec.outcome ?? 'ok';
      const end: Phase = outcome === 'ok' ? 'OK' : outcome === 'error' ? 'ERROR' : 'CANCELLED';
      if (end === 'CANCELLED') {
        // Cancelled while queued: a runner never took it.
        createdAt = endAt - 30_000;
        steps.push({ status: 'IN_QUEUE', at: createdAt }, { status: end, at: endAt });
      } else {
        const startAt = Math.min(endAt, now - (spec.startedAgoMs ?? (spec.endedAgoMs ?? 5 * MIN) + 20_000));
        createdAt = startAt - 2_000;
        steps.push({ status: 'IN_QUEUE', at: createdAt }, { status: 'IN_PROGRESS', at: startAt }, { status: end, at: endAt });
      }
    }
    requests.set(id, {
      id,
      subpath: spec.subpath,
      steps,
      createdAt,
      seq: requests.size,
      result: spec.result ?? {
        images: [{ url: `https://v3.fal.media/files/penguin/${id.slice(0, 8)}.jpg`, width: 1024, height: 768, content_type: 'image/jpeg' }],
        timings: { inference: 1.27 },
        seed: 1843297,
        has_nsfw_concepts: [false],
        prompt: 'a lighthouse at dusk',
      },
      failure: spec.failure ?? {
        status: 422,
        retryable: false,
        body: {
          detail: [
            {
              loc: ['body', 'prompt'],
              msg: 'The content could not be processed because it contained material flagged by a content checker.',
              type: 'content_policy_violation',
              url: 'https://docs.fal.ai/errors/#content_policy_violation',
              input: 'a prompt containing forbidden content',
            },
          ],
        },
      },
      honorsCancel: spec.honorsCancel ?? true,
      cancelRequests: 0,
    });
    return id;
  }

  function statusBody(r: SimRequestRecord, t: number, withLogs: boolean): Record<string, unknown> {
    const cur = phaseAt(r, t);
    const status = wire(cur.status);
    const startStep = r.steps.find((s) => s.status === 'IN_PROGRESS' && s.at <= t && s.at <= cur.at);
    const body: Record<string, unknown> = {
      status,
      request_id: r.id,
      response_url: `${base}/requests/${r.id}`,
      status_url: `${base}/requests/${r.id}/status`,
      cancel_url: `${base}/requests/${r.id}/cancel`,
    };
    if (status === 'IN_QUEUE') {
      const ahead = (o: SimRequestRecord): boolean => o.createdAt < r.createdAt || (o.createdAt === r.createdAt && o.seq < r.seq);
      body.queue_position = [...requests.values()].filter((o) => o !== r && ahead(o) && phaseAt(o, t).status === 'IN_QUEUE').length;
    }
    let logs: Record<string, unknown>[] | null = null;
    if (withLogs) {
      logs = [];
      if (startStep) {
        const upTo = TERMINAL.has(cur.status) ? cur.at : t;
        const secs = Math.floor((upTo - startStep.at) / 1000);
        const at = (ms: number): string => new Date(ms).toISOString();
        logs.push({ message: 'Loading model weights', level: 'INFO', source: 'user', timestamp: at(startStep.at) });
        for (let s = 1; s <= Math.min(secs, 10); s++) {
          logs.push({ message: `Step ${s}/28`, level: 'INFO', source: 'user', timestamp: at(startStep.at + s * 1000) });
        }
      }
    }
    body.logs = logs;
    if (status === 'COMPLETED') body.metrics = startStep ? { inference_time: (cur.at - startStep.at) / 1000 } : {};
    return body;
  }

  const detail = (status: number, text: string): SimResponse => ({ status, json: { detail: text } });
  const notFoundRoute = (): SimResponse => detail(404, 'Not Found');

  function handle(req: SimRequest): SimResponse {
    const auth = req.headers.authorization;
    if (typeof auth !== 'string' || auth === '') return detail(401, 'Missing authorization header');
    const m = /^Key (.+)$/.exec(auth);
    if (m?.[1] !== options.key) return detail(401, 'Invalid authorization credentials');

    const segs = segments(req.path);
    if (segs === null || segs.length < appSegs.length || appSegs.some((s, i) => segs[i] !== s)) return notFoundRoute();
    // Under the app base only: `requests/{id}`, `requests/{id}/status`, `requests/{id}/cancel`.
    // A sub-path form (`<app>/dev/requests/...`) is no route, as the docs warn.
    const rest = segs.slice(appSegs.length);
    if (rest[0] !== 'requests' || rest.length < 2 || rest.length > 3) return notFoundRoute();
    const id = rest[1]!;
    const action = rest[2];
    const now = clock.now();
    const r = requests.get(id);

    if (action === 'status') {
      if (req.method !== 'GET') return detail(405, 'Method Not Allowed');
      if (!r) return detail(404, 'Request not found');
      const logsParam = req.query.get('logs');
      const body = statusBody(r, now, logsParam === '1' || logsParam === 'true');
      return { status: body.status === 'COMPLETED' ? 200 : 202, json: body };
    }
    if (action === 'cancel') {
      if (req.method !== 'PUT') return detail(405, 'Method Not Allowed');
      if (!r) return { status: 404, json: { status: 'NOT_FOUND' } };
      r.cancelRequests++;
      const cur = phaseAt(r, now);
      if (TERMINAL.has(cur.status)) return { status: 400, json: { status: 'ALREADY_COMPLETED' } };
      if (cur.status === 'IN_QUEUE') {
        r.steps = r.steps.filter((s) => s.at <= now);
        r.steps.push({ status: 'CANCELLED', at: now });
      } else if (r.honorsCancel) {
        // The runner gets a signal and stops shortly; a run planned to end sooner ends as planned.
        const stopAt = now + FAL_CANCEL_STOP_MS;
        const plannedEnd = r.steps.find((s) => TERMINAL.has(s.status));
        if (!plannedEnd || plannedEnd.at > stopAt) {
          r.steps = r.steps.filter((s) => s.at <= now);
          r.steps.push({ status: 'CANCELLED', at: stopAt });
        }
      }
      return { status: 202, json: { status: 'CANCELLATION_REQUESTED' } };
    }
    if (action !== undefined) return notFoundRoute();
    if (req.method !== 'GET') return detail(405, 'Method Not Allowed');
    if (!r) return detail(404, 'Request not found');
    const cur = phaseAt(r, now);
    switch (cur.status) {
      case 'OK':
        return { status: 200, json: r.result };
      case 'ERROR':
        return {
          status: r.failure.status,
          json: r.failure.body,
          headers: { 'x-fal-retryable': String(r.failure.retryable ?? false) },
        };
      case 'CANCELLED':
        return { status: FAL_CANCELLED_RESULT.status, json: FAL_CANCELLED_RESULT.body };
      default:
        return detail(400, 'Request is still in progress');
    }
  }

  // The seeded queued job waits 10 min and the running one runs 8 more, as long as the other kinds'
  // seeds: a sandbox tour (and the end-to-end matrix, which moves the clock per project) finds them so.
  const seeds = buildSeeds(options.seed, namespace, (seeds, uuid) => {
    const id = (): string => {
      const u = uuid();
      return `${u.slice(0, 14)}4${u.slice(15)}`;
    };
    seeds.queued.push(addRequest({ id: id(), status: 'IN_QUEUE', startsInMs: 10 * MIN, runsForMs: MIN }));
    seeds.running.push(addRequest({ id: id(), status: 'IN_PROGRESS', startedAgoMs: 15_000, runsForMs: 8 * MIN }));
    // Submitted to the `dev` sub-path: its URLs still use the app base.
    seeds.long_running.push(
      addRequest({ id: id(), status: 'IN_PROGRESS', subpath: 'dev', startedAgoMs: 60 * MIN, runsForMs: 5 * 60 * MIN }),
    );
    seeds.succeeded.push(addRequest({ id: id(), status: 'COMPLETED', outcome: 'ok' }));
    seeds.failed.push(addRequest({ id: id(), status: 'COMPLETED', outcome: 'error' }));
    seeds.cancelled.push(addRequest({ id: id(), status: 'COMPLETED', outcome: 'cancelled' }));
  });

  const server: SimServer = await startSimServer(handle, {
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.host !== undefined ? { host: options.host } : {}),
  });
  base = `${server.url}/${app}`;

  return {
    kind: 'fal',
    server,
    baseUrl: base,
    app,
    seeds,
    addRequest,
    request(id) {
      const r = requests.get(id);
      if (!r) return undefined;
      const cur = phaseAt(r, clock.now());
      return { id: r.id, status: wire(cur.status), outcome: outcomeOf(cur.status), subpath: r.subpath, cancelRequests: r.cancelRequests };
    },
    close: () => server.close(),
  };
}
