// The job tools' work, independent of MCP: resolve the project, check the id against its backend,
// call the adapter, and reply with the unified result or a tool error with a stable code (list_jobs
// is in list-jobs.ts). A result is made anew for every call from the adapter's readonly report.
import type { Project, ProjectRegistry } from './registry.ts';
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

/**
 * A wait kept by an MCP task instead of a request held open: what it takes to look at the job again
 * and to answer as the waiting call would have. Plain data, kept in the state store.
 */
export interface JobWatch {
  readonly tool: 'get_job_status' | 'cancel_job';
  readonly project_reference: string;
  readonly job_id: string;
  /** get_job_status: the status a change is measured from (known_status, else the first read's). */
  readonly baseline?: JobStatus | undefined;
  /** cancel_job: the cancel the backend accepted (cancel_requested), which the wait confirms. */
  readonly cancel?: CancelReport | undefined;
  /** When the wait started (ms on the gateway's clock), and how long it lasts. */
  readonly startedAt: number;
  readonly seconds: number;
}

/**
 * How a waiting call starts as a task: its answer when it is known at once (the job is already
 * terminal or changed, the cancel needs no confirming, or a failure), else the watch to keep, with
 * the first step's answer (the read, or the accepted cancel: for the logs and the audit), the job's
 * report, and how often its project may be read.
 */
export type WatchStart<T> =
  { reply: Reply<T>; watch?: undefined } | { reply: Reply<T>; watch: JobWatch; report: JobGlimpse; pollIntervalMs: number };

/** What a task says of a job it watches while it waits (its status message). */
export type JobGlimpse = Pick<JobStatusReport, 'status' | 'queue_position'>;

/**
 * One look at a watched job: the call's answer once its wait is over (a change, terminal, confirmed,
 * its deadline, or a failure a wait would end with); else the job's latest report (undefined while
 * reads fail and none has succeeded); or `gone` when the caller may no longer use the project.
 */
export type WatchLook = { done: Reply<JobStatusResult | CancelJobResult> } | { pending: JobGlimpse | undefined } | { gone: true };

export interface JobService {
  getJobStatus(args: StatusArgs, context: ServiceCallContext): Promise<Reply<JobStatusResult>>;
  cancelJob(args: CancelArgs, context: ServiceCallContext): Promise<Reply<CancelJobResult>>;
  /** get_job_status with a wait of `seconds` (> 0, already bounded by the caller) kept by a task. */
  watchStatus(args: StatusArgs, seconds: number, context: ServiceCallContext): Promise<WatchStart<JobStatusResult>>;
  /** cancel_job with a wait of `seconds` (> 0) kept by a task: the cancel is sent now. */
  watchCancel(args: CancelArgs, seconds: number, context: ServiceCallContext): Promise<WatchStart<CancelJobResult>>;
  /** Whether `caller` may use the project a watch is on (still configured, still granted). */
  mayWatch(watch: JobWatch, caller: Caller | undefined): boolean;
  /** Looks at a watched job again, for `caller`, at `now` (ms on the gateway's clock). */
  lookAgain(watch: JobWatch, now: number, context: ServiceCallContext): Promise<WatchLook>;
  listJobs(args: ListArgs, context: ServiceCallContext): Promise<Reply<ListJobsResult>>;
  /** The projects the caller may use (never another's). */
  listProjects(context: ServiceCallContext): Promise<Reply<ListProjectsResult>>;
  /** Ends every wait at once (shutdown). */
  close(): void;
}

export function createJobService(
  registry: ProjectRegistry,
  hooks: JobServiceHooks = {},
  options: { waits: WaitHub; now: () => number },
): JobService {
  const { waits } = options;
  /** One look at a job of a project, through the hub (at most one read per interval in this process). */
  const lookRequest = (project: Project, jobId: string) => ({
    key: `${project.backend.name}\0${jobId}`,
    pollIntervalMs: project.pollIntervalMs,
    read: (signal: AbortSignal) => project.backend.getStatus(jobId, { signal }),
  });
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
    async watchStatus(args, seconds, context) {
      const found = locate(args.project_reference, args.job_id, context.caller);
      if ('error' in found) return { reply: found.error };
      const { project, ref } = found;
      const look = await waits.look(lookRequest(project, args.job_id));
      if ('error' in look) return { reply: fromError(look.error, ref, 'get_job_status', context) };
      const { report } = look;
      const baseline = args.known_status ?? report.status;
      const changed = report.status !== baseline;
      if (changed || isTerminal(report.status))
        return { reply: { ok: true, value: { ...statusResult(ref, report), changed, waited_seconds: 0 } } };
      const watch: JobWatch = {
        tool: 'get_job_status',
        project_reference: ref.project_reference,
        job_id: args.job_id,
        baseline,
        startedAt: options.now(),
        seconds,
      };
      return { reply: { ok: true, value: statusResult(ref, report) }, watch, report, pollIntervalMs: project.pollIntervalMs };
    },
    async watchCancel(args, seconds, context) {
      const found = locate(args.project_reference, args.job_id, context.caller);
      if ('error' in found) return { reply: found.error };
      const { project, ref } = found;
      let cancel: CancelReport;
      try {
        cancel = await project.backend.cancel(args.job_id, {
          signal: context.signal,
          charge: context.charge,
          ...(args.reason !== undefined ? { reason: args.reason } : {}),
        });
      } catch (e) {
        return { reply: fromError(e, ref, 'cancel_job', context) };
      }
      const reply: Reply<CancelJobResult> = { ok: true, value: { ...ref, ...cancel, terminal: isTerminal(cancel.status_after) } };
      if (cancel.outcome !== 'cancel_requested') return { reply };
      const watch: JobWatch = {
        tool: 'cancel_job',
        project_reference: ref.project_reference,
        job_id: args.job_id,
        cancel,
        startedAt: options.now(),
        seconds,
      };
      return { reply, watch, report: { status: cancel.status_after }, pollIntervalMs: project.pollIntervalMs };
    },
    mayWatch: (watch, caller) => !('error' in resolveProject(registry, watch.project_reference, caller)),
    async lookAgain(watch, now, context) {
      const found = locate(watch.project_reference, watch.job_id, context.caller);
      if ('error' in found) return { gone: true };
      const { project, ref } = found;
      const tool = watch.tool;
      const look = await waits.look(lookRequest(project, watch.job_id));
      const expired = now >= watch.startedAt + watch.seconds * 1000;
      // As a waiting call: a failure that may pass is read again next time; at the deadline the
      // answer is the last report a read gave, or the error when there is none.
      if ('error' in look && (look.final || (expired && !look.latest))) return { done: fromError(look.error, ref, tool, context) };
      if ('error' in look && !expired) return { pending: look.latest };
      const report = 'error' in look ? look.latest! : look.report;
      const waited = Math.round(Math.min(now - watch.startedAt, watch.seconds * 1000) / 10) / 100;
      const terminal = isTerminal(report.status);
      if (tool === 'get_job_status') {
        const changed = report.status !== watch.baseline;
        if (!changed && !terminal && !expired) return { pending: report };
        return { done: { ok: true, value: { ...statusResult(ref, report), changed, waited_seconds: waited } } };
      }
      if (!terminal && !expired) return { pending: report };
      return { done: { ok: true, value: { ...ref, ...confirmed(watch.cancel!, report), terminal, waited_seconds: waited } } };
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
