// The two operations, independent of MCP: resolve the project, check the id against its backend,
// call the adapter, and shape the unified answer or a tool error with a stable code.
import { BACKEND_ERROR_CODES, isBackendError, type BackendError, type BackendErrorCode } from './backend-error.ts';
import type { ProjectRegistry } from './registry.ts';
import { canAccess } from '../auth/project-access.ts';
import type { Principal } from '../auth/principal.ts';
import { isTerminal, type BackendKind, type CancelReport, type JobStatusReport } from './model.ts';

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
  backend: { name: string; kind: BackendKind };
  job_id: string;
}

export type JobStatusResult = JobRef & JobStatusReport & { terminal: boolean };
export type CancelJobResult = JobRef & CancelReport & { terminal: boolean };

export type Outcome<T> =
  | { ok: true; value: T }
  | { ok: false; error: ToolError; project_reference?: string; backend?: JobRef['backend']; job_id?: string };

export type ToolOperation = 'get_job_status' | 'cancel_job';

/** One failed call at a backend, for the log: what the caller was not told (`detail`) included. */
export interface BackendFailure {
  op: ToolOperation;
  requestId: string | undefined;
  ref: JobRef;
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
}

export interface JobService {
  getJobStatus(args: { project_reference: string; job_id: string }, options: CallOptions): Promise<Outcome<JobStatusResult>>;
  cancelJob(args: { project_reference: string; job_id: string; reason?: string | undefined }, options: CallOptions): Promise<Outcome<CancelJobResult>>;
}

export function createJobService(registry: ProjectRegistry, hooks: JobServiceHooks = {}): JobService {
  function locate(projectReference: string, jobId: string, caller: Principal | undefined) {
    const project = registry.resolve(projectReference);
    if (!project || !canAccess(caller, project)) {
      // Same answer for "does not exist" and (later) "not yours": never leak which projects exist.
      return {
        error: fail('UNKNOWN_PROJECT', `No project "${clip(projectReference)}" is available to you. Check project_reference: it must be a project reference or alias configured on this gateway.`, {}),
      };
    }
    const problem = project.backend.validateJobId(jobId);
    if (problem) {
      const backend = { name: project.backend.name, kind: project.backend.kind };
      return { error: fail('INVALID_ARGUMENT', `job_id is not valid for project "${project.reference}": ${problem}`, { project_reference: project.reference, backend }) };
    }
    const ref: JobRef = { project_reference: project.reference, backend: { name: project.backend.name, kind: project.backend.kind }, job_id: jobId };
    return { project, ref };
  }

  function fromError(e: unknown, ref: JobRef, op: ToolOperation, { signal, requestId }: CallOptions): Outcome<never> {
    if (signal.aborted) throw e; // the MCP request was cancelled: no answer is owed
    const where = { project_reference: ref.project_reference, backend: ref.backend, job_id: ref.job_id };
    // The request id ends the sentence and is a field of its own: it is what the operator looks up.
    const idSentence = requestId !== undefined ? ` Request id: ${requestId}.` : '';
    if (isBackendError(e)) {
      if (e.code === 'INVALID_ARGUMENT') return fail(e.code, sentence(e.message), where);
      hooks.onBackendError?.({ op, requestId, ref, code: e.code, httpStatus: e.httpStatus, detail: detailOf(e) });
      const hint = e.code === 'BACKEND_UNAVAILABLE' ? " The job's state is not known; try again later." : '';
      return fail(e.code, `${sentence(e.message)}${hint}${idSentence}`, where, e.retryAfterSeconds, requestId);
    }
    hooks.onInternalError?.(e, op, requestId);
    return fail('INTERNAL', `The gateway failed while handling this call; the failure was logged. Try again; if it persists, tell the operator.${idSentence}`, where, undefined, requestId);
  }

  return {
    async getJobStatus(args, options) {
      const found = locate(args.project_reference, args.job_id, options.caller);
      if ('error' in found) return found.error!;
      try {
        const report = await found.project.backend.getStatus(args.job_id, { signal: options.signal });
        // The backend's own status word is passed on as data, but bounded like every other field it sends.
        const raw = report.raw_status !== null && report.raw_status.length > MAX_RAW_STATUS ? report.raw_status.slice(0, MAX_RAW_STATUS) : report.raw_status;
        return { ok: true, value: { ...found.ref, ...report, raw_status: raw, terminal: isTerminal(report.status) } };
      } catch (e) {
        return fromError(e, found.ref, 'get_job_status', options);
      }
    },
    async cancelJob(args, options) {
      const found = locate(args.project_reference, args.job_id, options.caller);
      if ('error' in found) return found.error!;
      try {
        const report = await found.project.backend.cancel(args.job_id, { signal: options.signal, ...(args.reason !== undefined ? { reason: args.reason } : {}) });
        return { ok: true, value: { ...found.ref, ...report, terminal: isTerminal(report.status_after) } };
      } catch (e) {
        return fromError(e, found.ref, 'cancel_job', options);
      }
    },
  };
}

function fail(
  code: ToolErrorCode,
  message: string,
  where: { project_reference?: string; backend?: JobRef['backend']; job_id?: string },
  retryAfter?: number,
  requestId?: string,
): Outcome<never> {
  const error: ToolError = {
    code,
    message,
    ...(retryAfter !== undefined ? { retry_after_seconds: retryAfter } : {}),
    ...(requestId !== undefined ? { request_id: requestId } : {}),
  };
  return { ok: false, error, ...where };
}

/** A message as a sentence: capitalised, ending with a full stop. */
function sentence(message: string): string {
  const s = message.trim();
  return s.charAt(0).toUpperCase() + s.slice(1) + (/[.!?]$/.test(s) ? '' : '.');
}

/** The backend's words behind an error: its own, or those of the error it wraps (ComfyUI's search errors wrap the host's). */
function detailOf(e: BackendError): string | undefined {
  for (let cur: unknown = e, depth = 0; isBackendError(cur) && depth < 4; cur = cur.cause, depth++) {
    if (cur.detail !== undefined) return cur.detail;
  }
  return undefined;
}

/** A backend status word is a word: longer ones are cut here. */
const MAX_RAW_STATUS = 64;

/** Echo at most 64 characters of caller input in messages. */
function clip(s: string): string {
  return s.length > 64 ? `${s.slice(0, 64)}…` : s;
}
