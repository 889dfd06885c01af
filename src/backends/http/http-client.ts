// The one way adapters talk HTTP to a backend: base URL from config only, every path segment
// percent-encoded, a deadline on every call, bounded answer size, a connection pool and circuit
// breaker per backend (so a dead backend fails fast and never ties up calls to another one), and
// one retry of idempotent reads on connection failures. It never sees a caller's token, and it
// never puts what a backend says into an error message: that goes, redacted, into `detail` for the log.
import { Pool, errors as undiciErrors } from 'undici';
import { circuitBreaker, ConsecutiveBreaker, BrokenCircuitError, handleWhen, type CircuitBreakerPolicy } from 'cockatiel';
import { BackendError } from '../../jobs/backend-error.ts';
import { createSystemClock, type Clock } from '../../jobs/clock.ts';
import { exchange } from './exchange.ts';
import { createRedactor, excerpt, secretsFromHeaders, type Redact } from './redact.ts';

/** What one backend call came to: its action, `2xx`…`5xx` or `error` (no answer), and its duration. */
export type BackendCallObserver = (call: { action: string; statusClass: string; seconds: number }) => void;

/**
 * The client span of one backend call, as the HTTP client uses it: the tracing layer implements it
 * (observability/tracing.ts, ClientSpan), so adapters never depend on how traces are made.
 */
export interface BackendCallSpan {
  /** Adds the trace context headers (`traceparent`, `tracestate`) for the backend. */
  inject(headers: Record<string, string>): void;
  end(summary: { status?: number | undefined; resends: number; errorType?: string | undefined }): void;
}

/** Starts the client span of one backend call (tracing on), or undefined. */
export type BackendTracer = (request: { method: string; template: string; origin: URL }) => BackendCallSpan | undefined;

export interface HttpClientOptions {
  /** Backend name, for error messages. */
  name: string;
  baseUrl: string;
  /** Sent on every request: the gateway's own credentials for this backend, and fixed headers. */
  headers?: Record<string, string>;
  /** Deadline for one call, including a retry. */
  timeoutMs?: number;
  /** Largest answer body read, in bytes. */
  maxResponseBytes?: number;
  /** Consecutive unavailable answers that open the circuit, and how long it stays open. */
  breakerThreshold?: number;
  breakerOpenMs?: number;
  /** Retry a read once after a refused or reset connection or a 502/503/504 (default true). */
  retryReads?: boolean;
  /**
   * The timer of the pause before that retry (default the system's), so a test can hold a call in it.
   * The deadline of an exchange is Node's own timer on real I/O, and the circuit breaker's open time is
   * cockatiel's reading of the global Date (it takes no clock): tests move Date for it.
   */
  clock?: Clock;
  observe?: BackendCallObserver | undefined;
  trace?: BackendTracer | undefined;
}

export interface HttpRequest {
  /** A short fixed name for what the call does (get_job, cancel_job, …): a bounded metric label. */
  action: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path segments below the base URL; each is percent-encoded, so an id can never add a segment. */
  path: readonly string[];
  /** The job id the call is about: the segment holding it reads `{job_id}` in traces (url.template). */
  jobId?: string | undefined;
  query?: Record<string, string | number | undefined>;
  /** A JSON body. */
  json?: unknown;
  signal: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The body as text (empty string for an empty body). */
  text: string;
  /** The body as one line of at most 500 characters, with this client's credentials and anything credential-looking redacted: for the log. */
  redactedExcerpt(): string;
}

export interface HttpClient {
  readonly name: string;
  call(req: HttpRequest): Promise<HttpResponse>;
  close(): Promise<void>;
}

const RETRYABLE_STATUS = new Set([502, 503, 504]);
const RETRY_PAUSE_MS = 100;

/** Raised inside the circuit breaker for an answer that counts as "unavailable" (5xx). */
class UnavailableAnswer extends Error {
  readonly response: HttpResponse;
  constructor(response: HttpResponse) {
    super(`HTTP ${response.status}`);
    this.response = response;
  }
}

export function createHttpClient(options: HttpClientOptions): HttpClient {
  const base = new URL(options.baseUrl);
  const basePath = base.pathname.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxBytes = options.maxResponseBytes ?? 1024 * 1024;
  const fixedHeaders = { accept: 'application/json', ...lowerKeys(options.headers ?? {}) };
  // A backend that echoes the request would hand back these very values: redact them exactly.
  const redact = createRedactor(secretsFromHeaders(fixedHeaders));
  // Own pool per backend: a backend that hangs exhausts only its own connections.
  // A base URL has one origin, so a Pool (not an Agent that looks the pool up on every call).
  const pool = new Pool(base.origin, { connections: 64, keepAliveTimeout: 10_000, connect: { timeout: Math.min(timeoutMs, 5_000) } });

  const clock = options.clock ?? createSystemClock();

  // cockatiel times `halfOpenAfter` with Date.now() and offers no hook for another clock.
  const breaker: CircuitBreakerPolicy = circuitBreaker(
    handleWhen((e) => e instanceof UnavailableAnswer || isTransport(e)),
    {
      halfOpenAfter: options.breakerOpenMs ?? 10_000,
      breaker: new ConsecutiveBreaker(options.breakerThreshold ?? 5),
    },
  );
  // One retry of a read, after a short pause, entered only once the first attempt has failed, so a
  // call that succeeds pays for no retry machinery (docs/performance.md).
  const retryable = (e: unknown) => isConnectFailure(e) || (e instanceof UnavailableAnswer && RETRYABLE_STATUS.has(e.response.status));

  /** The path and query of a call, built as a string (no URL object per call: docs/performance.md). */
  function pathFor(req: HttpRequest): string {
    let path = basePath + '/' + req.path.map((s) => encodeURIComponent(s)).join('/');
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) query.set(k, String(v));
    if (query.size > 0) path += `?${query}`;
    return path;
  }

  /** The route without the job id, for traces. */
  function templateOf(req: HttpRequest): string {
    return basePath + '/' + req.path.map((s) => (s === req.jobId ? '{job_id}' : s)).join('/');
  }

  async function once(req: HttpRequest, remainingMs: number, span: BackendCallSpan | undefined): Promise<HttpResponse> {
    const headers: Record<string, string> = { ...fixedHeaders };
    span?.inject(headers);
    let body: string | undefined;
    if (req.json !== undefined) {
      body = JSON.stringify(req.json);
      headers['content-type'] = 'application/json';
    }
    const res = await exchange(
      pool,
      { path: pathFor(req), method: req.method, headers, body: body ?? null },
      { signal: req.signal, timeoutMs: remainingMs, maxBytes },
    );
    if (res.bytes === 'too_large') {
      throw new BackendError(
        'BACKEND_UNAVAILABLE',
        `Backend "${options.name}" sent an answer larger than ${maxBytes} bytes, which the gateway does not read.`,
        {
          httpStatus: res.status,
        },
      );
    }
    const text = res.bytes.toString('utf8');
    const out: HttpResponse = { status: res.status, headers: res.headers, text, redactedExcerpt: () => excerpt(text, redact) };
    if (res.status >= 500) throw new UnavailableAnswer(out);
    return out;
  }

  return {
    name: options.name,
    async call(req) {
      // The deadline covers the whole call, a retry included: each attempt gets what is left of it.
      const started = performance.now();
      let statusClass = 'error';
      const span = options.trace?.({ method: req.method, template: templateOf(req), origin: base });
      let attempts = 0;
      let status: number | undefined;
      let errorType: string | undefined;
      const attempt = () => {
        attempts++;
        return once(req, timeoutMs - (performance.now() - started), span);
      };
      try {
        const retries = req.method === 'GET' && options.retryReads !== false;
        const res = await breaker.execute(() =>
          retries
            ? attempt().catch(async (e: unknown) => {
                if (!retryable(e)) throw e;
                await pause(clock, RETRY_PAUSE_MS, req.signal);
                return attempt();
              })
            : attempt(),
        );
        statusClass = `${Math.floor(res.status / 100)}xx`;
        status = res.status;
        return res;
      } catch (e) {
        if (e instanceof UnavailableAnswer) {
          statusClass = `${Math.floor(e.response.status / 100)}xx`;
          status = e.response.status;
          return e.response; // the adapter maps 5xx with the body in hand
        }
        if (req.signal.aborted) {
          errorType = 'cancelled';
          throw req.signal.reason ?? e; // the caller gave up: not a backend fault
        }
        const timedOut = isTimeout(e);
        errorType = timedOut ? 'timeout' : e instanceof BrokenCircuitError ? 'circuit_open' : 'unreachable';
        throw toBackendError(options.name, e, { timedOut, timeoutMs, openMs: options.breakerOpenMs ?? 10_000, redact });
      } finally {
        options.observe?.({ action: req.action, statusClass, seconds: (performance.now() - started) / 1000 });
        span?.end({ status, resends: Math.max(0, attempts - 1), errorType });
      }
    },
    async close() {
      // On shutdown, calls still waiting on a backend are cut off rather than awaited.
      await pool.destroy();
    },
  };
}

/**
 * A call that got no answer. The message names at most an error code (ECONNREFUSED): transport
 * messages carry internal host names and addresses, so they go to `detail` (the log) only.
 */
function toBackendError(
  name: string,
  e: unknown,
  at: { timedOut: boolean; timeoutMs: number; openMs: number; redact: Redact },
): BackendError {
  if (e instanceof BackendError) return e;
  if (e instanceof BrokenCircuitError) {
    const s = Math.ceil(at.openMs / 1000);
    return new BackendError(
      'BACKEND_UNAVAILABLE',
      `Backend "${name}" is failing repeatedly, so the gateway has paused calls to it for about ${s} s.`,
      {
        retryAfterSeconds: s,
        cause: e,
        detail: 'circuit open after consecutive failures',
      },
    );
  }
  if (at.timedOut)
    return new BackendError('BACKEND_UNAVAILABLE', `Backend "${name}" did not answer within ${at.timeoutMs} ms.`, { cause: e });
  const code = (e as { code?: unknown } | undefined)?.code;
  const shownCode = typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,40}$/.test(code) ? ` (${code})` : '';
  const said = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return new BackendError('BACKEND_UNAVAILABLE', `Backend "${name}" could not be reached${shownCode}.`, {
    cause: e,
    detail: excerpt(said, at.redact),
  });
}

/** Resolves `ms` from now on `clock`, or rejects with the signal's reason as soon as it aborts. */
function pause(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clock.clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = clock.setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function isTransport(e: unknown): boolean {
  return e instanceof undiciErrors.UndiciError || isConnectFailure(e) || isTimeout(e);
}

/** The error of an exchange that reached the deadline (exchange.ts). */
function isTimeout(e: unknown): boolean {
  return e instanceof Error && e.name === 'TimeoutError';
}

function isConnectFailure(e: unknown): boolean {
  const code = (e as { code?: string } | undefined)?.code;
  return (
    code === 'ECONNREFUSED' ||
    code === 'ECONNRESET' ||
    code === 'UND_ERR_SOCKET' ||
    code === 'EHOSTUNREACH' ||
    code === 'UND_ERR_CONNECT_TIMEOUT'
  );
}

function lowerKeys(h: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
}

/** Parses a JSON body; a body that is not JSON becomes BACKEND_UNAVAILABLE, never a made-up status. */
export function parseJson(name: string, res: HttpResponse): unknown {
  if (res.text.trim() === '') return undefined;
  try {
    return JSON.parse(res.text);
  } catch {
    throw new BackendError('BACKEND_UNAVAILABLE', `Backend "${name}" answered HTTP ${res.status} with a body that is not JSON.`, {
      httpStatus: res.status,
      detail: res.redactedExcerpt(),
    });
  }
}

/** A 2xx answer in a shape the adapter does not know (`what`: "an agent job"); the body goes to the log only. */
export function unexpectedShape(name: string, res: HttpResponse, what: string): BackendError {
  return new BackendError('BACKEND_UNAVAILABLE', `Backend "${name}" answered HTTP ${res.status} with a body that is not ${what}.`, {
    httpStatus: res.status,
    detail: res.redactedExcerpt(),
  });
}

/**
 * Whether an answer is about the job asked for: true when the id it names matches (ids compare
 * case-insensitively: a backend may canonicalise the case of a UUID) or when it names none.
 */
export function isAnswerFor(askedId: string, answeredId: unknown): boolean {
  if (answeredId === undefined || answeredId === null) return true;
  return (typeof answeredId === 'string' || typeof answeredId === 'number') && String(answeredId).toLowerCase() === askedId.toLowerCase();
}

/**
 * A 2xx answer that names another job: it is never taken as this job's (a foreign `completed` would
 * read as succeeded and stop a cancel). The message names neither the other id nor its status.
 */
export function answerForAnotherJob(name: string, res: HttpResponse): BackendError {
  return new BackendError(
    'BACKEND_UNAVAILABLE',
    `Backend "${name}" answered with the record of a different job than the one asked for, so the gateway did not use it.`,
    {
      httpStatus: res.status,
      detail: res.redactedExcerpt(),
    },
  );
}

/** Seconds from a Retry-After header (delta-seconds or an HTTP date), or undefined. */
export function retryAfterSeconds(res: HttpResponse): number | undefined {
  const h = res.headers['retry-after'];
  const v = Array.isArray(h) ? h[0] : h;
  if (!v) return undefined;
  const n = Number(v);
  if (Number.isFinite(n) && n >= 0) return Math.min(MAX_RETRY_AFTER_S, Math.ceil(n));
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.min(MAX_RETRY_AFTER_S, Math.max(0, Math.ceil((t - Date.now()) / 1000)));
}

/** A backend's Retry-After is passed on to callers; a day bounds what a faulty one can make them wait. */
const MAX_RETRY_AFTER_S = 86_400;

/**
 * The common mapping of a status an adapter did not handle itself: 401/403 → BACKEND_AUTH,
 * 429 → RATE_LIMITED, 5xx → BACKEND_UNAVAILABLE, other 4xx → BACKEND_REJECTED. The message is a
 * fixed sentence per case; the body goes, redacted, to `detail` (the log), never to the caller.
 */
export function unexpectedStatus(name: string, res: HttpResponse): BackendError {
  const s = res.status;
  const detail = res.redactedExcerpt() || undefined;
  if (s === 401 || s === 403) {
    return new BackendError(
      'BACKEND_AUTH',
      `Backend "${name}" rejected the gateway's credentials (HTTP ${s}): the gateway's own credentials for it are wrong or lack access. Tell the gateway's operator; retrying will not help.`,
      { httpStatus: s, detail },
    );
  }
  if (s === 429) {
    const retry = retryAfterSeconds(res);
    return new BackendError(
      'RATE_LIMITED',
      `Backend "${name}" is rate limiting the gateway (HTTP 429); ${retry !== undefined ? `retry after ${retry} s` : 'retry later'}.`,
      {
        httpStatus: s,
        detail,
        ...(retry !== undefined ? { retryAfterSeconds: retry } : {}),
      },
    );
  }
  if (s >= 500) return new BackendError('BACKEND_UNAVAILABLE', `Backend "${name}" failed (HTTP ${s}).`, { httpStatus: s, detail });
  return new BackendError(
    'BACKEND_REJECTED',
    `Backend "${name}" refused the gateway's request (HTTP ${s}) for a reason the gateway cannot classify. Check the job id; if it is right and this persists, tell the gateway's operator.`,
    { httpStatus: s, detail },
  );
}
