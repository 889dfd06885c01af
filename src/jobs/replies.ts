// The job service's replies: a value, or a tool error with a stable code and a fixed sentence (a
// backend's own words go to the log only, through the hooks); and the project lookup every tool
// starts with.
import type { Caller } from './caller.ts';
import { CallerBudgetSpent, type BudgetCharge } from './budget.ts';
import { BACKEND_ERROR_CODES, GatewayUnavailable, isBackendError, type BackendError, type BackendErrorCode } from './backend-error.ts';
import type { Project, ProjectRegistry } from './registry.ts';
import type { WaitHeartbeat } from './waits.ts';

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

/** What the job service answers a call: the tool's result, or a tool error with where it happened. */
export type Reply<T> =
  { ok: true; value: T } | { ok: false; error: ToolError; project_reference?: string; backend?: JobRef['backend']; job_id?: string };

/** The job tools, each one method of the job service. */
export type JobToolName = 'get_job_status' | 'cancel_job' | 'list_jobs' | 'list_projects';

/** One failed call at a backend, for the log: what the caller was not told (`detail`) included. */
export interface BackendFailure {
  tool: JobToolName;
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
  onInternalError?(error: unknown, tool: JobToolName, requestId: string | undefined): void;
  /** Called once for every call that failed at a backend (every BackendError but INVALID_ARGUMENT). */
  onBackendError?(failure: BackendFailure): void;
}

/** Who asks (undefined without authentication), the signal that aborts the call, and the MCP request's id. */
export interface ServiceCallContext {
  signal: AbortSignal;
  caller?: Caller | undefined;
  requestId?: string | undefined;
  /** Called every few seconds while the call waits (the MCP layer turns it into progress notifications). */
  onHeartbeat?: ((beat: WaitHeartbeat) => void) | undefined;
  /** Charges the caller for a backend's fan-out (BackendCallContext.charge); passed to direct reads, cancels and listings. */
  charge?: BudgetCharge | undefined;
}

/** Where a failure happened, as far as the caller may know it. */
export type Where = { project_reference?: string; backend?: JobRef['backend']; job_id?: string };

/** The project named by the caller, or UNKNOWN_PROJECT: the same answer for "does not exist" and "not yours". */
export function resolveProject(
  registry: ProjectRegistry,
  projectReference: string,
  caller: Caller | undefined,
): { project: Project } | { error: Reply<never> } {
  const project = registry.resolve(projectReference);
  if (project && (caller === undefined || caller.mayUse(project))) return { project };
  // Never leak which projects exist.
  return {
    error: fail(
      'UNKNOWN_PROJECT',
      `No project "${clip(projectReference)}" is available to you. list_projects names the projects you may use.`,
      {},
    ),
  };
}

/**
 * A failed call as a tool error: the adapter's sentence and the request id; the backend's words and
 * the gateway's own failures go to the hooks (the log). Rethrows when the caller went away.
 */
export function errorReply(
  hooks: JobServiceHooks,
  e: unknown,
  where: Where & { project_reference: string; backend: JobRef['backend'] },
  tool: JobToolName,
  { signal, requestId }: ServiceCallContext,
): Reply<never> {
  if (signal.aborted) throw e; // the MCP request was cancelled: no answer is owed
  const error = toolErrorOf(hooks, e, where, tool, requestId);
  return { ok: false, error, ...where };
}

/** The ToolError for a failure (logged through the hooks); `host` names a ComfyUI host in a listing. */
export function toolErrorOf(
  hooks: JobServiceHooks,
  e: unknown,
  where: Where & { project_reference: string; backend: JobRef['backend'] },
  tool: JobToolName,
  requestId: string | undefined,
  host?: string,
): ToolError {
  // The request id ends the sentence and is a field of its own: it is what the operator looks up.
  const idSentence = requestId !== undefined ? ` Request id: ${requestId}.` : '';
  if (isBackendError(e)) {
    if (e.code === 'INVALID_ARGUMENT') return { code: e.code, message: sentence(e.message) };
    if (!(e instanceof GatewayUnavailable) && !(e instanceof CallerBudgetSpent))
      hooks.onBackendError?.({
        tool,
        requestId,
        ref: where,
        ...(host !== undefined ? { host } : {}),
        code: e.code,
        httpStatus: e.httpStatus,
        detail: detailOf(e),
      });
    const hint =
      e.code === 'BACKEND_UNAVAILABLE'
        ? tool === 'list_jobs'
          ? ' Try again later.'
          : " The job's state is not known; try again later."
        : '';
    return errorOf(e.code, `${sentence(e.message)}${hint}${idSentence}`, e.retryAfterSeconds, requestId);
  }
  hooks.onInternalError?.(e, tool, requestId);
  return errorOf(
    'INTERNAL',
    `The gateway failed while handling this call; the failure was logged. Try again; if it persists, tell the operator.${idSentence}`,
    undefined,
    requestId,
  );
}

function errorOf(code: ToolErrorCode, message: string, retryAfter?: number, requestId?: string): ToolError {
  return {
    code,
    message,
    ...(retryAfter !== undefined ? { retry_after_seconds: retryAfter } : {}),
    ...(requestId !== undefined ? { request_id: requestId } : {}),
  };
}

export function fail(code: ToolErrorCode, message: string, where: Where, retryAfter?: number, requestId?: string): Reply<never> {
  return { ok: false, error: errorOf(code, message, retryAfter, requestId), ...where };
}

/** A message as a sentence: capitalised, ending with a full stop. */
export function sentence(message: string): string {
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
export const MAX_RAW_STATUS = 64;

/** The backend's status word as passed on: data, but bounded like every other field it sends. */
export function boundedRaw(raw: string | null): string | null {
  return raw !== null && raw.length > MAX_RAW_STATUS ? raw.slice(0, MAX_RAW_STATUS) : raw;
}

/** Echo at most 64 characters of caller input in messages. */
export function clip(s: string): string {
  return s.length > 64 ? `${s.slice(0, 64)}…` : s;
}
