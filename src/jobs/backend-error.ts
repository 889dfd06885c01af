// One typed error for everything that goes wrong at or on the way to a backend. It separates
// "your request is wrong" (INVALID_ARGUMENT) from "the backend is unavailable", so a caller is
// never blamed for a backend condition and a backend failure is never reported as a job status.

export const BACKEND_ERROR_CODES = [
  'INVALID_ARGUMENT', // the job id cannot be valid for this backend; nothing was sent
  'BACKEND_UNAVAILABLE', // connect error, timeout, 5xx, garbage answer, circuit open
  'BACKEND_AUTH', // the backend rejected the gateway's own credentials (401/403)
  'BACKEND_REJECTED', // another 4xx the mapping cannot classify
  'RATE_LIMITED', // 429 or the gateway's own budget for that backend is spent
] as const;
export type BackendErrorCode = (typeof BACKEND_ERROR_CODES)[number];

export class BackendError extends Error {
  readonly code: BackendErrorCode;
  /** HTTP status the backend answered, when it answered. */
  readonly httpStatus: number | undefined;
  /** Seconds until a retry can succeed (RATE_LIMITED, sometimes BACKEND_UNAVAILABLE). */
  readonly retryAfterSeconds: number | undefined;
  /**
   * The backend's own words (a body excerpt, a transport error), redacted and at most one line of
   * 500 characters: for the log only. `message` never holds backend-supplied text.
   */
  readonly detail: string | undefined;

  /**
   * `message` is a fixed sentence: which backend, what class of failure, and what to do. For
   * BACKEND_UNAVAILABLE the job service adds that the job's state is unknown and to try again later.
   */
  constructor(
    code: BackendErrorCode,
    message: string,
    options: { httpStatus?: number; retryAfterSeconds?: number; cause?: unknown; detail?: string | undefined } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BackendError';
    this.code = code;
    this.httpStatus = options.httpStatus;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.detail = options.detail;
  }
}

/**
 * A refusal of the gateway's own, put in backend terms for the caller (the gateway is shutting down,
 * so the job's state is not known): the caller sees BACKEND_UNAVAILABLE, while the log of backend
 * failures leaves it out, as no backend failed.
 */
export class GatewayUnavailable extends BackendError {
  constructor(message: string) {
    super('BACKEND_UNAVAILABLE', message);
    this.name = 'GatewayUnavailable';
  }
}

export function isBackendError(e: unknown): e is BackendError {
  return e instanceof BackendError;
}
