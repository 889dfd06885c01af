// The job tools' work, independent of MCP: resolve the project, check the id against its backend,
// call the adapter, and reply with the unified result or a tool error with a stable code (list_jobs
// is in list-jobs.ts). A result is made anew for every call from the adapter's readonly report.
import type { ProjectRegistry } from './registry.ts';
import { callerKey, type Caller } from './caller.ts';
import {
  boundedRaw,
  errorReply,
  fail,
  resolveProject,
  type JobRef,
  type JobServiceHooks,
  type JobToolName,
  type Reply,
  type ServiceCallContext,
} from './replies.ts';
import { isTerminal, recordOf, type CancelReport, type JobStatus, type JobStatusReport } from './model.ts';
import type { WaitHub } from './waits.ts';
import { createListJobs, type ListArgs, type ListJobsResult } from './list-jobs.ts';
import { listProjects, type ListProjectsResult } from './list-projects.ts';

/** `changed` and `waited_seconds` are present when the call waited (wait_seconds > 0). */
export type JobStatusResult = JobRef & JobStatusReport & { terminal: boolean; changed?: boolean; waited_seconds?: number };
/** `waited_seconds` is present when a cancel_requested was waited on. */
export type CancelJobResult = JobRef & CancelReport & { terminal: boolean; waited_seconds?: number };

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
  getJobStatus(args: StatusArgs, context: ServiceCallContext): Promise<Reply<JobStatusResult>>;
  cancelJob(args: CancelArgs, context: ServiceCallContext): Promise<Reply<CancelJobResult>>;
  listJobs(args: ListArgs, context: ServiceCallContext): Promise<Reply<ListJobsResult>>;
  /** The projects the caller may use (never another's). */
  listProjects(context: ServiceCallContext): Promise<Reply<ListProjectsResult>>;
  /** Ends every wait at once (shutdown). */
  close(): void;
}

export function createJobService(registry: ProjectRegistry, hooks: JobServiceHooks = {}, options: { waits: WaitHub }): JobService {
  const { waits } = options;
  /**
   * Takes a wait slot, or the RATE_LIMITED error, with retry_after_seconds, when the caller holds its
   * maximum or this process holds its own (waits.max_concurrent).
   */
  function enterWait(caller: Caller | undefined, ref: JobRef, seconds: number): { release: () => void } | { error: Reply<never> } {
    const slot = waits.take(callerKey(caller), seconds);
    if ('release' in slot) return slot;
    const message =
      slot.refused === 'caller'
        ? 'You already have as many waits in progress as this gateway allows; let one end, or call without wait_seconds.'
        : `This gateway replica holds as many waits as it can; retry in ${slot.retryAfterSeconds} s, or call without wait_seconds.`;
    const where = { project_reference: ref.project_reference, backend: ref.backend, job_id: ref.job_id };
    return { error: fail('RATE_LIMITED', message, where, slot.retryAfterSeconds) };
  }

  function locate(projectReference: string, jobId: string, caller: Caller | undefined) {
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

  const fromError = (e: unknown, ref: JobRef, tool: JobToolName, context: ServiceCallContext): Reply<never> =>
    errorReply(hooks, e, ref, tool, context);

  return {
    async getJobStatus(args, context) {
      const found = locate(args.project_reference, args.job_id, context.caller);
      if ('error' in found) return found.error;
      const backend = found.project.backend;
      const seconds = waits.clamp(args.wait_seconds ?? 0);
      if (seconds === 0) {
        try {
          return {
            ok: true,
            value: statusResult(found.ref, await backend.getStatus(args.job_id, { signal: context.signal, charge: context.charge })),
          };
        } catch (e) {
          return fromError(e, found.ref, 'get_job_status', context);
        }
      }
      const slot = enterWait(context.caller, found.ref, seconds);
      if ('error' in slot) return slot.error;
      try {
        const { report, changed, waitedSeconds } = await waits.wait({
          key: `${backend.name}\0${args.job_id}`,
          pollIntervalMs: found.project.pollIntervalMs,
          read: (signal) => backend.getStatus(args.job_id, { signal }),
          until: 'change',
          known: args.known_status,
          seconds,
          signal: context.signal,
          onHeartbeat: context.onHeartbeat,
        });
        return { ok: true, value: { ...statusResult(found.ref, report), changed, waited_seconds: waitedSeconds } };
      } catch (e) {
        return fromError(e, found.ref, 'get_job_status', context);
      } finally {
        slot.release();
      }
    },
    async cancelJob(args, context) {
      const found = locate(args.project_reference, args.job_id, context.caller);
      if ('error' in found) return found.error;
      const backend = found.project.backend;
      const seconds = waits.clamp(args.wait_seconds ?? 0);
      // The slot is taken before the cancel, so a caller over its cap is refused before anything changes.
      const slot = seconds > 0 ? enterWait(context.caller, found.ref, seconds) : { release: () => {} };
      if ('error' in slot) return slot.error;
      try {
        const report = await backend.cancel(args.job_id, {
          signal: context.signal,
          charge: context.charge,
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
          signal: context.signal,
          onHeartbeat: context.onHeartbeat,
        });
        return {
          ok: true,
          value: { ...found.ref, ...confirmed(report, after), terminal: isTerminal(after.status), waited_seconds: waitedSeconds },
        };
      } catch (e) {
        return fromError(e, found.ref, 'cancel_job', context);
      } finally {
        slot.release();
      }
    },
    listJobs: createListJobs(registry, hooks),
    listProjects: async (context) => listProjects(registry, context.caller),
    close: () => waits.close(),
  };
}

function statusResult(ref: JobRef, report: JobStatusReport): JobStatusResult {
  return { ...ref, ...report, raw_status: boundedRaw(report.raw_status), terminal: isTerminal(report.status) };
}

/**
 * A cancel_requested after its wait: confirmed, overtaken by the job's own end, or still pending at the
 * deadline; with the job's name and details as the wait's last read showed them, like its status.
 */
function confirmed(cancel: CancelReport, latest: JobStatusReport): CancelReport {
  const after = latest.status;
  const report = { ...cancel, ...recordOf(latest) };
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
