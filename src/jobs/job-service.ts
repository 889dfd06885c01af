// The two operations, independent of MCP: resolve the project, check the id against its backend,
// call the adapter, and shape the unified answer or a tool error with a stable code.
import { BACKEND_ERROR_CODES, isBackendError, type BackendErrorCode } from './backend-error.ts';
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

export interface JobServiceHooks {
  /** Called for failures that are the gateway's own fault (INTERNAL), with the error. */
  onInternalError?(error: unknown, op: 'get_job_status' | 'cancel_job'): void;
}

/** Who asks (undefined without authentication) and the signal that aborts the call. */
export interface CallOptions {
  signal: AbortSignal;
  caller?: Principal | undefined;
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

  function fromError(e: unknown, ref: JobRef, op: 'get_job_status' | 'cancel_job', signal: AbortSignal): Outcome<never> {
    if (signal.aborted) throw e; // the MCP request was cancelled: no answer is owed
    if (isBackendError(e)) {
      const hint = e.code === 'BACKEND_UNAVAILABLE' ? ' The job\'s state is not known; try again later.' : '';
      return fail(e.code, `${e.message}.${hint}`.replace('..', '.'), { project_reference: ref.project_reference, backend: ref.backend, job_id: ref.job_id }, e.retryAfterSeconds);
    }
    hooks.onInternalError?.(e, op);
    return fail('INTERNAL', 'The gateway failed while handling this call; the failure was logged. Try again; if it persists, tell the operator.', {
      project_reference: ref.project_reference,
      backend: ref.backend,
      job_id: ref.job_id,
    });
  }

  return {
    async getJobStatus(args, { signal, caller }) {
      const found = locate(args.project_reference, args.job_id, caller);
      if ('error' in found) return found.error!;
      try {
        const report = await found.project.backend.getStatus(args.job_id, { signal });
        return { ok: true, value: { ...found.ref, ...report, terminal: isTerminal(report.status) } };
      } catch (e) {
        return fromError(e, found.ref, 'get_job_status', signal);
      }
    },
    async cancelJob(args, { signal, caller }) {
      const found = locate(args.project_reference, args.job_id, caller);
      if ('error' in found) return found.error!;
      try {
        const report = await found.project.backend.cancel(args.job_id, { signal, ...(args.reason !== undefined ? { reason: args.reason } : {}) });
        return { ok: true, value: { ...found.ref, ...report, terminal: isTerminal(report.status_after) } };
      } catch (e) {
        return fromError(e, found.ref, 'cancel_job', signal);
      }
    },
  };
}

function fail(code: ToolErrorCode, message: string, where: { project_reference?: string; backend?: JobRef['backend']; job_id?: string }, retryAfter?: number): Outcome<never> {
  const error: ToolError = { code, message, ...(retryAfter !== undefined ? { retry_after_seconds: retryAfter } : {}) };
  return { ok: false, error, ...where };
}

/** Echo at most 64 characters of caller input in messages. */
function clip(s: string): string {
  return s.length > 64 ? `${s.slice(0, 64)}…` : s;
}
