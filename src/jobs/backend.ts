// The contract between the tool layer and a backend adapter. An adapter knows nothing about MCP,
// client HTTP requests or tokens: it gets a job id, an abort signal and (for cancel) a reason.
import type { BackendKind, CancelReport, JobStatusReport } from './model.ts';

export interface CallContext {
  /** Aborted when the MCP request is cancelled (notifications/cancelled) or the client goes away. */
  signal: AbortSignal;
}

export interface CancelContext extends CallContext {
  /** Why the caller cancels; forwarded where the backend keeps it (agent-jobs). */
  reason?: string;
}

export interface JobBackend {
  readonly kind: BackendKind;
  /** The configured name, used in results, logs and metric labels. */
  readonly name: string;
  /**
   * Checks a job id against this backend's id format before any URL is built.
   * Returns a sentence saying what is wrong, or null when the id is acceptable.
   */
  validateJobId(jobId: string): string | null;
  /** Throws BackendError when the backend cannot answer; a job it does not know is `found: false`. */
  getStatus(jobId: string, ctx: CallContext): Promise<JobStatusReport>;
  /** Idempotent: a second cancel answers `already_terminal`. Throws BackendError like getStatus. */
  cancel(jobId: string, ctx: CancelContext): Promise<CancelReport>;
  /** Releases timers and connections. */
  close?(): Promise<void>;
}

/** Canonical lowercase hyphenated UUID, the id format of ComfyUI, Veryfront and (in practice) the others. */
export const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
