// The contract between the tool layer and a backend adapter. An adapter knows nothing about MCP,
// client HTTP requests or tokens: it gets a job id, an abort signal and (for cancel) a reason.
import { BackendError } from './backend-error.ts';
import type { BudgetCharge } from './budget.ts';
import type { ListPage, ListQuery } from './listing.ts';
import type { CancelReport, JobStatusReport } from './model.ts';

/** What an adapter gets with one call besides the job id. */
export interface BackendCallContext {
  /** Aborted when the MCP request is cancelled (notifications/cancelled) or the client goes away. */
  signal: AbortSignal;
  /**
   * Charges the caller for backend requests beyond the call's first (a fan-out over several hosts),
   * before they are sent (chargeFanOut, budget.ts). Absent: they are free (no budget, or a wait's
   * poller, which reads for every waiter of a job).
   */
  charge?: BudgetCharge | undefined;
}

export interface BackendCancelContext extends BackendCallContext {
  /** Why the caller cancels; forwarded where the backend keeps it (agent-jobs). */
  reason?: string;
}

/** An adapter; `K` is its kind's name (the backend registry holds the closed set). */
export interface JobBackend<K extends string = string> {
  readonly kind: K;
  /** The configured name, used in results, logs and metric labels. */
  readonly name: string;
  /**
   * Checks a job id against this backend's id format before any URL is built.
   * Returns a sentence saying what is wrong, or null when the id is acceptable.
   */
  validateJobId(jobId: string): string | null;
  /** Throws BackendError when the backend cannot answer; a job it does not know is `found: false`. */
  getStatus(jobId: string, ctx: BackendCallContext): Promise<JobStatusReport>;
  /** Idempotent: a second cancel answers `already_terminal`. Throws BackendError like getStatus. */
  cancel(jobId: string, ctx: BackendCancelContext): Promise<CancelReport>;
  /** One page of the project's jobs, newest first. Throws BackendError when the backend cannot answer. */
  list(query: ListQuery): Promise<ListPage>;
  /** Releases timers and connections. */
  close?(): Promise<void>;
}

/** Canonical lowercase hyphenated UUID, the id format of ComfyUI, Veryfront and (in practice) the others. */
export const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A job id check: a sentence saying what is wrong, or null when the id is acceptable. */
export type JobIdValidator = (jobId: string) => string | null;

export interface JobIdRule {
  /** How the messages name the id, capitalised: `An agent-jobs job id`. */
  what: string;
  pattern: RegExp;
  /** Longer ids get their own message; omitted: the pattern alone decides. */
  maxLength?: number;
  /** What the id must look like, after `what` and without the final period: `is a UUID such as …`. */
  hint: string;
}

/** A validator for `JobBackend.validateJobId`: empty, then too long, then not matching the pattern. */
export function jobIdRule({ what, pattern, maxLength, hint }: JobIdRule): JobIdValidator {
  return (jobId) => {
    if (typeof jobId !== 'string' || jobId.length === 0) return 'The job id is empty.';
    if (maxLength !== undefined && jobId.length > maxLength) return `${what} is at most ${maxLength} characters long.`;
    if (!pattern.test(jobId)) return `${what} ${hint}.`;
    return null;
  };
}

/**
 * Letters, digits, "_" and "-", starting with a letter or digit, up to 128 characters: UUIDs, ObjectIds and
 * slugs fit, and nothing that could change a URL's meaning ("/", ".", "%", "?", "#", whitespace) or blow up a
 * log line gets through. For backends that do not document their id format; spread into `jobIdRule`.
 */
export const SAFE_JOB_ID = {
  pattern: /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/,
  maxLength: 128,
  hint: 'may contain only letters, digits, "_" and "-", and must start with a letter or digit',
} as const satisfies Omit<JobIdRule, 'what'>;

/** Throws BackendError INVALID_ARGUMENT with the validator's sentence when the id is not acceptable. */
export function assertJobId(validate: JobIdValidator, jobId: string): void {
  const problem = validate(jobId);
  if (problem) throw new BackendError('INVALID_ARGUMENT', problem);
}
