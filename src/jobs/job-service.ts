// The three operations, independent of MCP: resolve the project, check the id against its backend,
// call the adapter, and shape the unified answer or a tool error with a stable code (list_jobs is
// in list-jobs.ts).
import { BACKEND_ERROR_CODES, type BackendErrorCode } from './backend-error.ts';
import type { ProjectRegistry } from './registry.ts';
import type { Principal } from '../auth/principal.ts';
import { boundedRaw, errorOutcome, fail, resolveProject } from './outcomes.ts';
import { isTerminal, type CancelReport, type JobStatus, type JobStatusReport } from './model.ts';
import { principalKey } from '../auth/principal.ts';
import type { WaitHeartbeat, WaitHub } from './waits.ts';
import { createListJobs, type ListArgs, type ListJobsResult } from './list-jobs.ts';

export const TOOL_ERROR_CODES = ['UNKNOWN_PROJECT', ...BACKEND_ERROR_CODES, 'INTERNAL'] as const;
export type ToolErrorCode = 'UNKNOWN_PROJECT' | BackendErrorCode | 'INTERNAL';

export interface ToolError {
  code: ToolErrorCode;
  message: string;
  retry_after_seconds?: number;
  /** The MCP request's id, on failures at a backend or in the gateway: it finds the log line. */
  request_id?: string;
}

export interface JobRef {
  project_reference: string;
  backend: { name: string; kind: string };
  job_id: string;
}

/** `changed` and `waited_seconds` are present when the call waited (wait_seconds > 0). */
export type JobStatusResult = JobRef & JobStatusReport & { terminal: boolean; changed?: boolean; waited_seconds?: number };
/** `waited_seconds` is present when a cancel_requested was waited on. */
export type CancelJobResult = JobRef & CancelReport & { terminal: boolean; waited_seconds?: number };

export type Outcome<T> =
  { ok: true; value: T } | { ok: false; error: ToolError; project_reference?: string; backend?: JobRef['backend']; job_id?: string };

export type ToolOperation = 'get_job_status' | 'cancel_job' | 'list_jobs';

/** One failed call at a backend, for the log: what the caller was not told (`detail`) included. */
export interface BackendFailure {
  op: ToolOperation;
  requestId: string | undefined;
  ref: Omit<JobRef, 'job_id'> & { job_id?: string | undefined };
  /** The ComfyUI host that failed, in a listing that went on without it. */
  host?: string;
  code: BackendErrorCode;
  httpStatus: number | undefined;
  /** The backend's own words, already redacted and truncated by the HTTP client. */
  detail: string | undefined;
}

export interface JobServiceHooks {
  /** Called for failures that are the gateway's own fault (INTERNAL), with the error. */
  onInternalError?(error: unknown, op: ToolOperation, requestId: string | undefined): void;
  /** Called once for every call that failed at a backend (every BackendError but INVALID_ARGUMENT). */
  onBackendError?(failure: BackendFailure): void;
}

/** Who asks (undefined without authentication), the signal that aborts the call, and the MCP request's id. */
export interface CallOptions {
  signal: AbortSignal;
  caller?: Principal | undefined;
  requestId?: string | undefined;
  /** Called every few seconds while the call waits (the MCP layer turns it into progress notifications). */
  onHeartbeat?: ((beat: WaitHeartbeat) => void) | undefined;
}

export interface StatusArgs {
  project_reference: string;
  job_id: string;
  /** Seconds to wait for a change; 0 or absent: answer at once. Shortened to the configured maximum. */
  wait_seconds?: number | undefined;
  /** The status the caller last saw; the wait ends as soon as the job's status differs from it. */
  known_status?: JobStatus | undefined;
}

export interface CancelArgs {
  project_reference: string;
  job_id: string;
  reason?: string | undefined;
  /** Seconds to wait, after cancel_requested, for the job to be terminal. */
  wait_seconds?: number | undefined;
}

export interface JobService {
  getJobStatus(args: StatusArgs, options: CallOptions): Promise<Outcome<JobStatusResult>>;
  cancelJob(args: CancelArgs, options: CallOptions): Promise<Outcome<CancelJobResult>>;
  listJobs(args: ListArgs, options: CallOptions): Promise<Outcome<ListJobsResult>>;
  /** Ends every wait at once (shutdown). */
  close(): void;
}

export function createJobService(registry: ProjectRegistry, hooks: JobServiceHooks = {}, options: { waits: WaitHub }): JobService {
  const { waits } = options;
  // The answer made of each shared report: while a job's answer does not change, its adapter hands out
  // the same report again, frozen (backends/answer-memo.ts); its answer is made once and shared (frozen) too.
  const answersOfSharedReports = new WeakMap<JobStatusReport, JobStatusResult>();

  function statusAnswer(ref: JobRef, report: JobStatusReport): JobStatusResult {
    if (!Object.isFrozen(report)) return statusResult(ref, report);
    const made = answersOfSharedReports.get(report);
    if (made && made.project_reference === ref.project_reference && made.job_id === ref.job_id) return made;
    const answer = statusResult(ref, report);
    Object.freeze(answer.backend);
    answersOfSharedReports.set(report, Object.freeze(answer));
    return answer;
  }

  /** Takes one of the caller's wait slots, or the RATE_LIMITED error when it holds its maximum. */
  function enterWait(caller: Principal | undefined, ref: JobRef): { release: () => void } | { error: Outcome<never> } {
    const release = waits.enter(caller ? principalKey(caller) : 'anonymous');
    if (release) return { release };
    return {
      error: fail(
        'RATE_LIMITED',
        'You already have as many waits in progress as this gateway allows; let one end, or call without wait_seconds.',
        {
          project_reference: ref.project_reference,
          backend: ref.backend,
          job_id: ref.job_id,
        },
      ),
    };
  }

  function locate(projectReference: string, jobId: string, caller: Principal | undefined) {
    const found = resolveProject(registry, projectReference, caller);
    if ('error' in found) return found;
    const { project } = found;
    const problem = project.backend.validateJobId(jobId);
    if (problem) {
      const backend = { name: project.backend.name, kind: project.backend.kind };
      return {
        error: fail('INVALID_ARGUMENT', `job_id is not valid for project "${project.reference}": ${problem}`, {
          project_reference: project.reference,
          backend,
        }),
      };
    }
    const ref: JobRef = {
      project_reference: project.reference,
      backend: { name: project.backend.name, kind: project.backend.kind },
      job_id: jobId,
    };
    return { project, ref };
  }

  const fromError = (e: unknown, ref: JobRef, op: ToolOperation, options: CallOptions): Outcome<never> =>
    errorOutcome(hooks, e, ref, op, options);

  return {
    async getJobStatus(args, options) {
      const found = locate(args.project_reference, args.job_id, options.caller);
      if ('error' in found) return found.error!;
      const backend = found.project.backend;
      const seconds = waits.clamp(args.wait_seconds ?? 0);
      if (seconds === 0) {
        try {
          return { ok: true, value: statusAnswer(found.ref, await backend.getStatus(args.job_id, { signal: options.signal })) };
        } catch (e) {
          return fromError(e, found.ref, 'get_job_status', options);
        }
      }
      const slot = enterWait(options.caller, found.ref);
      if ('error' in slot) return slot.error;
      try {
        const { report, changed, waitedSeconds } = await waits.wait({
          key: `${backend.name}\0${args.job_id}`,
          pollIntervalMs: found.project.pollIntervalMs,
          read: (signal) => backend.getStatus(args.job_id, { signal }),
          until: 'change',
          known: args.known_status,
          seconds,
          signal: options.signal,
          onHeartbeat: options.onHeartbeat,
        });
        return { ok: true, value: { ...statusResult(found.ref, report), changed, waited_seconds: waitedSeconds } };
      } catch (e) {
        return fromError(e, found.ref, 'get_job_status', options);
      } finally {
        slot.release();
      }
    },
    async cancelJob(args, options) {
      const found = locate(args.project_reference, args.job_id, options.caller);
      if ('error' in found) return found.error!;
      const backend = found.project.backend;
      const seconds = waits.clamp(args.wait_seconds ?? 0);
      // The slot is taken before the cancel, so a caller over its cap is refused before anything changes.
      const slot = seconds > 0 ? enterWait(options.caller, found.ref) : { release: () => {} };
      if ('error' in slot) return slot.error;
      try {
        const report = await backend.cancel(args.job_id, {
          signal: options.signal,
          ...(args.reason !== undefined ? { reason: args.reason } : {}),
        });
        if (seconds === 0 || report.outcome !== 'cancel_requested')
          return { ok: true, value: { ...found.ref, ...report, terminal: isTerminal(report.status_after) } };
        const { report: after, waitedSeconds } = await waits.wait({
          key: `${backend.name}\0${args.job_id}`,
          pollIntervalMs: found.project.pollIntervalMs,
          read: (signal) => backend.getStatus(args.job_id, { signal }),
          until: 'terminal',
          seconds,
          signal: options.signal,
          onHeartbeat: options.onHeartbeat,
        });
        return {
          ok: true,
          value: { ...found.ref, ...confirmed(report, after.status), terminal: isTerminal(after.status), waited_seconds: waitedSeconds },
        };
      } catch (e) {
        return fromError(e, found.ref, 'cancel_job', options);
      } finally {
        slot.release();
      }
    },
    listJobs: createListJobs(registry, hooks),
    close: () => waits.close(),
  };
}

function statusResult(ref: JobRef, report: JobStatusReport): JobStatusResult {
  return { ...ref, ...report, raw_status: boundedRaw(report.raw_status), terminal: isTerminal(report.status) };
}

/** A cancel_requested after its wait: confirmed, overtaken by the job's own end, or still pending at the deadline. */
function confirmed(report: CancelReport, after: JobStatus): CancelReport {
  if (after === 'cancelled')
    return { ...report, outcome: 'cancelled', status_after: after, message: 'The job stopped: the backend confirms it is cancelled.' };
  if (isTerminal(after))
    return {
      ...report,
      outcome: 'already_terminal',
      status_after: after,
      message: `The job ended as ${after} before the stop took effect.`,
    };
  return {
    ...report,
    status_after: after,
    message: `${report.message.replace(/\.?$/, '.')} It had not stopped when the wait ended; ask get_job_status later.`,
  };
}
