// Shaping a tool call's answer: the project lookup every tool starts with, and tool errors with a
// stable code and fixed sentences (a backend's own words go to the log only).
import type { Caller } from './caller.ts';
import { isBackendError, type BackendError } from './backend-error.ts';
import type { CallOptions, JobRef, JobServiceHooks, Outcome, ToolError, ToolErrorCode, ToolOperation } from './job-service.ts';
import type { Project, ProjectRegistry } from './registry.ts';

/** Where a failure happened, as far as the caller may know it. */
export type Where = { project_reference?: string; backend?: JobRef['backend']; job_id?: string };

/** The project named by the caller, or UNKNOWN_PROJECT: the same answer for "does not exist" and "not yours". */
export function resolveProject(
  registry: ProjectRegistry,
  projectReference: string,
  caller: Caller | undefined,
): { project: Project } | { error: Outcome<never> } {
  const project = registry.resolve(projectReference);
  if (project && (caller === undefined || caller.mayUse(project))) return { project };
  // Never leak which projects exist.
  return {
    error: fail(
      'UNKNOWN_PROJECT',
      `No project "${clip(projectReference)}" is available to you. Check project_reference: it must be a project reference or alias configured on this gateway.`,
      {},
    ),
  };
}

/**
 * A failed call as a tool error: the adapter's sentence and the request id; the backend's words and
 * the gateway's own failures go to the hooks (the log). Rethrows when the caller went away.
 */
export function errorOutcome(
  hooks: JobServiceHooks,
  e: unknown,
  where: Where & { project_reference: string; backend: JobRef['backend'] },
  op: ToolOperation,
  { signal, requestId }: CallOptions,
): Outcome<never> {
  if (signal.aborted) throw e; // the MCP request was cancelled: no answer is owed
  const error = toolErrorOf(hooks, e, where, op, requestId);
  return { ok: false, error, ...where };
}

/** The ToolError for a failure (logged through the hooks); `host` names a ComfyUI host in a listing. */
export function toolErrorOf(
  hooks: JobServiceHooks,
  e: unknown,
  where: Where & { project_reference: string; backend: JobRef['backend'] },
  op: ToolOperation,
  requestId: string | undefined,
  host?: string,
): ToolError {
  // The request id ends the sentence and is a field of its own: it is what the operator looks up.
  const idSentence = requestId !== undefined ? ` Request id: ${requestId}.` : '';
  if (isBackendError(e)) {
    if (e.code === 'INVALID_ARGUMENT') return { code: e.code, message: sentence(e.message) };
    hooks.onBackendError?.({
      op,
      requestId,
      ref: where,
      ...(host !== undefined ? { host } : {}),
      code: e.code,
      httpStatus: e.httpStatus,
      detail: detailOf(e),
    });
    const hint =
      e.code === 'BACKEND_UNAVAILABLE'
        ? op === 'list_jobs'
          ? ' Try again later.'
          : " The job's state is not known; try again later."
        : '';
    return errorOf(e.code, `${sentence(e.message)}${hint}${idSentence}`, e.retryAfterSeconds, requestId);
  }
  hooks.onInternalError?.(e, op, requestId);
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

export function fail(code: ToolErrorCode, message: string, where: Where, retryAfter?: number, requestId?: string): Outcome<never> {
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
