// Simulated Replicate predictions API (https://replicate.com/docs/reference/http), the part a job
// gateway reads: GET /v1/predictions/{id}, POST /v1/predictions/{id}/cancel and GET /v1/predictions.
// Quirks kept on purpose, because the real API has them:
// - prediction ids are 26 lowercase base32 characters (`gm3qorzdhgbfurvjtvhg6dckhu`), not UUIDs;
// - statuses are lowercase `starting` (queued or booting), `processing`, `succeeded`, `failed` and
//   `canceled` (one l); there is no separate "queued" word; the API also answers an undocumented
//   terminal `aborted` for predictions interrupted before they completed (replicate-python PR #449,
//   a validation error its clients hit), which addPrediction can set up but no seed uses;
// - cancel answers 200 with the prediction, also for one that already finished (it stays as it was:
//   cancel is not an error, and the caller has to read the status to learn whether it took);
// - both `Authorization: Bearer <token>` (the current docs) and `Token <token>` (older docs and
//   clients) are accepted; without a valid token every route answers 401 with the problem-details
//   body `{"title": "Unauthenticated", "detail": "You did not pass a valid authentication token",
//   "status": 401}`, before any lookup;
// - an unknown prediction answers 404 `{"detail": "Not found."}` (the API is Django REST framework);
// - the list is cursor-paginated, newest first, 100 per page, `{previous, next, results}` with `next`
//   and `previous` absolute URLs carrying `?cursor=`; an undecodable cursor answers 404
//   `{"detail": "Invalid cursor"}` (DRF's CursorPagination), not 400; list items carry no `logs`;
// - "For predictions created through the API, all input parameters, output values, output files, and
//   logs are automatically removed after an hour" (docs, topics/predictions/data-retention): an hour
//   after it finishes an API prediction reads `data_removed: true`, `input: {}`, `output: null`,
//   `logs: ""`; web predictions keep their data;
// - timestamps are ISO strings with microseconds (`2023-09-08T16:19:34.765994Z`); `started_at` and
//   `completed_at` are null until they happen; `metrics.predict_time` (seconds) appears only once the
//   prediction is terminal and had started.
// Job states are derived from the clock on each request (no timers).
import { systemClock, type Clock } from '../../../simulation/clock.ts';
import { segments, startSimServer, type SimRequest, type SimResponse, type SimServer } from '../../../simulation/sim-server.ts';
import { buildSeeds, seededUuid, stepAt, type Simulation, type TimelineStep } from '../../../simulation/simulation.ts';

export const REPLICATE_STATUSES = ['starting', 'processing', 'succeeded', 'failed', 'canceled', 'aborted'] as const;
export type ReplicateStatus = (typeof REPLICATE_STATUSES)[number];
const TERMINAL: ReadonlySet<ReplicateStatus> = new Set(['succeeded', 'failed', 'canceled', 'aborted']);

/** Page size of GET /v1/predictions ("It will return 100 records per page"). */
export const REPLICATE_PAGE_SIZE = 100;
/** How long after it finishes an API prediction keeps its input, output and logs. */
export const REPLICATE_DATA_RETENTION_MS = 60 * 60_000;

export interface ReplicatePredictionSpec {
  /** Default: a deterministic Replicate-style id. */
  id?: string;
  /** The status the prediction is in now (default `starting`). */
  status?: ReplicateStatus;
  model?: string;
  version?: string;
  input?: Record<string, unknown>;
  /** `api` predictions lose their data an hour after finishing; `web` ones keep it (default `api`). */
  source?: 'api' | 'web';
  /** starting: time until it begins processing (default 30 s). */
  startsInMs?: number;
  /** Processing time still to go once processing (for `starting`: the whole run; default 60 s); null: runs until cancelled. */
  runsForMs?: number | null;
  /** processing and terminal: how long ago it began processing (default 20 s; terminal: 1 min before it finished). */
  startedAgoMs?: number;
  /** Terminal: how long ago it finished (default 5 min). */
  endedAgoMs?: number;
  /** How a run that finishes on its own ends (default `succeeded`). */
  ending?: 'succeeded' | 'failed';
  /** Output of a succeeded prediction (default: one image URL). */
  output?: unknown;
  /** Error text of a failed prediction. */
  error?: string;
  /** Whether `urls.stream` is present (models that support streaming). */
  stream?: boolean;
}

/** What a test can read about one prediction. */
export interface ReplicatePredictionView {
  id: string;
  status: ReplicateStatus;
  /** The object GET answers now. */
  record: Record<string, unknown>;
  /** Cancel requests that reached this prediction (including ones on finished predictions). */
  cancelRequests: number;
}

export interface ReplicateSimOptions {
  /** The API token the simulation accepts. */
  token: string;
  port?: number;
  host?: string;
  clock?: Clock;
  /** Namespace for seeded ids (default `replicate`). */
  namespace?: string;
  /** Seed one prediction per SEED_STATES entry (default true). */
  seed?: boolean;
}

export interface ReplicateSim extends Simulation<'replicate'> {
  /** Base URL including the API version: `http://127.0.0.1:PORT/v1`. */
  readonly baseUrl: string;
  addPrediction(spec?: ReplicatePredictionSpec): string;
  prediction(id: string): ReplicatePredictionView | undefined;
}

type Step = TimelineStep<ReplicateStatus>;

interface SimPrediction {
  id: string;
  model: string;
  version: string;
  input: Record<string, unknown>;
  source: 'api' | 'web';
  steps: Step[];
  createdAt: number;
  output: unknown;
  error: string;
  stream: boolean;
  cancelRequests: number;
}

const MIN = 60_000;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** A Replicate-style id: the 128 bits of a UUID as 26 lowercase RFC 4648 base32 characters. */
export function replicateIdFrom(uuid: string): string {
  const bytes = Buffer.from(uuid.replace(/-/g, ''), 'hex');
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** ISO time with microseconds, as Replicate writes it. */
function isoMicros(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '000Z');
}

interface Cursor {
  /** Sort key of the item the page starts after: [created_at ms, id]. */
  p: [number, string];
  /** True: the page lies before the position (newer items), as a `previous` link reads. */
  r: boolean;
}

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

function decodeCursor(raw: string): Cursor | null {
  try {
    const c = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Partial<Cursor>;
    if (!Array.isArray(c.p) || typeof c.p[0] !== 'number' || typeof c.p[1] !== 'string' || typeof c.r !== 'boolean') return null;
    return { p: [c.p[0], c.p[1]], r: c.r };
  } catch {
    return null;
  }
}

export async function startReplicateSim(options: ReplicateSimOptions): Promise<ReplicateSim> {
  const clock = options.clock ?? systemClock;
  const namespace = options.namespace ?? 'replicate';
  const predictions = new Map<string, SimPrediction>();
  let counter = 0;
  // The server URL is known only after listen; urls in answers are built from it at request time.
  let apiBase = '';

  const statusAt = (p: SimPrediction, t: number): Step => stepAt(p.steps, TERMINAL, t);

  function addPrediction(spec: ReplicatePredictionSpec = {}): string {
    const now = clock.now();
    const id = spec.id ?? replicateIdFrom(seededUuid(`${namespace}:added`, counter++));
    const status = spec.status ?? 'starting';
    const ending = spec.ending ?? (status === 'failed' ? 'failed' : 'succeeded');
    const runsFor = spec.runsForMs === undefined ? MIN : spec.runsForMs;
    const steps: Step[] = [];
    let createdAt: number;
    switch (status) {
      case 'starting': {
        createdAt = now - 2_000;
        const startAt = now + (spec.startsInMs ?? 30_000);
        steps.push({ status: 'starting', at: createdAt }, { status: 'processing', at: startAt });
        if (runsFor !== null) steps.push({ status: ending, at: startAt + runsFor });
        break;
      }
      case 'processing': {
        const startAt = now - (spec.startedAgoMs ?? 20_000);
        createdAt = startAt - 3_000;
        steps.push({ status: 'starting', at: createdAt }, { status: 'processing', at: startAt });
        if (runsFor !== null) steps.push({ status: ending, at: now + runsFor });
        break;
      }
      default: {
        const endAt = now - (spec.endedAgoMs ?? 5 * MIN);
        const startAt = Math.min(endAt, now - (spec.startedAgoMs ?? (spec.endedAgoMs ?? 5 * MIN) + MIN));
        createdAt = startAt - 3_000;
        steps.push({ status: 'starting', at: createdAt }, { status: 'processing', at: startAt }, { status, at: endAt });
      }
    }
    predictions.set(id, {
      id,
      model: spec.model ?? 'black-forest-labs/flux-schnell',
      version: spec.version ?? 'bf53bdb93d739c9c915091cfa5f49ca662d11273a5eb30e7a2ec1939bcf27a00',
      input: spec.input ?? { prompt: 'a lighthouse at dusk', num_outputs: 1 },
      source: spec.source ?? 'api',
      steps,
      createdAt,
      output: spec.output !== undefined ? spec.output : [`https://replicate.delivery/xezq/${id}/out-0.webp`],
      error: spec.error ?? 'CUDA out of memory. Tried to allocate 2.00 GiB',
      stream: spec.stream ?? false,
      cancelRequests: 0,
    });
    return id;
  }

  function render(p: SimPrediction, t: number, inList: boolean): Record<string, unknown> {
    const cur = statusAt(p, t);
    const startStep = p.steps.find((s) => s.status === 'processing' && s.at <= t && s.at <= cur.at);
    const terminal = TERMINAL.has(cur.status);
    const removed = terminal && p.source === 'api' && t >= cur.at + REPLICATE_DATA_RETENTION_MS;
    let logs = '';
    if (startStep && !removed) {
      const upTo = terminal ? cur.at : t;
      const secs = Math.floor((upTo - startStep.at) / 1000);
      const lines = ['Using seed: 41298'];
      for (let s = 1; s <= Math.min(secs, 20); s++) lines.push(`${Math.round((s / 20) * 100)}%|${'█'.repeat(s)}| ${s}/20`);
      if (cur.status === 'failed') lines.push(`Traceback (most recent call last):\nRuntimeError: ${p.error}`);
      logs = lines.join('\n') + '\n';
    }
    const urls: Record<string, string> = {
      cancel: `${apiBase}/predictions/${p.id}/cancel`,
      get: `${apiBase}/predictions/${p.id}`,
      web: `https://replicate.com/p/${p.id}`,
    };
    if (p.stream) urls.stream = `https://stream.replicate.com/v1/files/${p.id}`;
    const record: Record<string, unknown> = {
      id: p.id,
      model: p.model,
      version: p.version,
      input: removed ? {} : p.input,
      ...(inList ? {} : { logs }),
      output: cur.status === 'succeeded' && !removed ? p.output : null,
      data_removed: removed,
      error: cur.status === 'failed' ? p.error : null,
      source: p.source,
      status: cur.status,
      created_at: isoMicros(p.createdAt),
      started_at: startStep ? isoMicros(startStep.at) : null,
      completed_at: terminal ? isoMicros(cur.at) : null,
      urls,
      metrics: terminal && startStep ? { predict_time: (cur.at - startStep.at) / 1000 } : {},
    };
    return record;
  }

  const detail = (status: number, text: string): SimResponse => ({ status, json: { detail: text } });

  function handle(req: SimRequest): SimResponse {
    const segs = segments(req.path);
    if (segs === null || segs[0] !== 'v1') return detail(404, 'Not found.');
    // Authentication first: nothing about predictions leaks without a token.
    const auth = req.headers.authorization;
    const m = typeof auth === 'string' ? /^(?:Bearer|Token) (.+)$/.exec(auth) : null;
    if (m?.[1] !== options.token) {
      return {
        status: 401,
        json: { title: 'Unauthenticated', detail: 'You did not pass a valid authentication token', status: 401 },
        headers: { 'content-type': 'application/problem+json' },
      };
    }
    if (segs[1] !== 'predictions' || segs.length > 4) return detail(404, 'Not found.');
    const now = clock.now();
    const notAllowed = (): SimResponse => detail(405, `Method "${req.method}" not allowed.`);
    if (segs.length === 2) return req.method === 'GET' ? list(req, now) : notAllowed();
    const p = predictions.get(segs[2]!);
    if (segs.length === 3) {
      if (req.method !== 'GET') return notAllowed();
      return p ? { status: 200, json: render(p, now, false) } : detail(404, 'Not found.');
    }
    if (segs[3] !== 'cancel') return detail(404, 'Not found.');
    if (req.method !== 'POST') return notAllowed();
    if (!p) return detail(404, 'Not found.');
    p.cancelRequests++;
    const cur = statusAt(p, now);
    if (!TERMINAL.has(cur.status)) {
      p.steps = p.steps.filter((s) => s.at <= now);
      p.steps.push({ status: 'canceled', at: now });
    }
    return { status: 200, json: render(p, now, false) };
  }

  function list(req: SimRequest, now: number): SimResponse {
    // Newest first; ties broken by id so the order (and the cursor position) is total.
    const all = [...predictions.values()].sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    const rawCursor = req.query.get('cursor');
    const cursor = rawCursor === null ? null : decodeCursor(rawCursor);
    if (rawCursor !== null && cursor === null) return detail(404, 'Invalid cursor');
    // Index of the first item that sorts after the cursor position.
    const after = (pos: [number, string]): number => {
      const i = all.findIndex((p) => p.createdAt < pos[0] || (p.createdAt === pos[0] && p.id < pos[1]));
      return i === -1 ? all.length : i;
    };
    let start: number;
    let end: number;
    if (cursor === null) {
      start = 0;
      end = Math.min(all.length, REPLICATE_PAGE_SIZE);
    } else if (!cursor.r) {
      start = after(cursor.p);
      end = Math.min(all.length, start + REPLICATE_PAGE_SIZE);
    } else {
      // The page just before the position: the items sorting before it, the closest 100 of them.
      const idx = all.findIndex((p) => p.createdAt === cursor.p[0] && p.id === cursor.p[1]);
      end = idx === -1 ? after(cursor.p) : idx;
      start = Math.max(0, end - REPLICATE_PAGE_SIZE);
    }
    const page = all.slice(start, end);
    const link = (c: Cursor): string => `${apiBase}/predictions?cursor=${encodeURIComponent(encodeCursor(c))}`;
    const last = page[page.length - 1];
    const first = page[0];
    return {
      status: 200,
      json: {
        previous: start > 0 && first ? link({ p: [first.createdAt, first.id], r: true }) : null,
        next: end < all.length && last ? link({ p: [last.createdAt, last.id], r: false }) : null,
        results: page.map((p) => render(p, now, true)),
      },
    };
  }

  // The seeded queued job waits 10 min and the running one runs 8 more, as long as the other kinds'
  // seeds: a sandbox tour (and the end-to-end matrix, which moves the clock per project) finds them so.
  const seeds = buildSeeds(options.seed, namespace, (seeds, uuid) => {
    const id = (): string => replicateIdFrom(uuid());
    seeds.queued.push(addPrediction({ id: id(), status: 'starting', startsInMs: 10 * MIN, runsForMs: 2 * MIN }));
    seeds.running.push(addPrediction({ id: id(), status: 'processing', startedAgoMs: 30_000, runsForMs: 8 * MIN }));
    seeds.long_running.push(
      addPrediction({
        id: id(),
        status: 'processing',
        startedAgoMs: 60 * MIN,
        runsForMs: 5 * 60 * MIN,
        model: 'acme/video-upscaler',
        stream: true,
      }),
    );
    seeds.succeeded.push(addPrediction({ id: id(), status: 'succeeded', endedAgoMs: 5 * MIN }));
    seeds.failed.push(addPrediction({ id: id(), status: 'failed', endedAgoMs: 10 * MIN }));
    seeds.cancelled.push(addPrediction({ id: id(), status: 'canceled', endedAgoMs: 15 * MIN }));
    // An account's older predictions, made on the web, beyond the seeds: a listing has pages to walk.
    for (let h = 1; h <= 4; h++) addPrediction({ id: id(), status: 'succeeded', source: 'web', endedAgoMs: h * 60 * MIN });
  });

  const server: SimServer = await startSimServer(handle, {
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.host !== undefined ? { host: options.host } : {}),
  });
  apiBase = `${server.url}/v1`;

  return {
    kind: 'replicate',
    server,
    baseUrl: apiBase,
    seeds,
    addPrediction,
    prediction(id) {
      const p = predictions.get(id);
      if (!p) return undefined;
      const now = clock.now();
      return { id: p.id, status: statusAt(p, now).status, record: render(p, now, false), cancelRequests: p.cancelRequests };
    },
    close: () => server.close(),
  };
}
