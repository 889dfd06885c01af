// Cancel reads the status first, acts, then reads again, and reports what is true afterwards: a
// pending job removed from the queue is `cancelled`; a running job that was interrupted but has not
// stopped yet is `cancel_requested` (ComfyUI's interrupt is cooperative). A legacy interrupt always
// names the prompt id and is sent only right after /queue showed that id running: older servers
// ignore the body and interrupt whatever runs, so a bare or stale interrupt could kill another job.
import type { BudgetCharge } from '../../jobs/budget.ts';
import { BackendError } from '../../jobs/backend-error.ts';
import { isTerminal, notFoundReport, recordOf, type CancelReport, type JobStatus, type JobStatusReport } from '../../jobs/model.ts';
import type { Host } from './host.ts';
import type { HostPool } from './hosts.ts';
import { requestCancel } from './jobs-api.ts';
import { deleteQueued, interruptRunning, readHistory, readQueue } from './legacy-api.ts';
import { isRoutable } from './job-id.ts';
import { fromHistoryEntry, pendingUnder } from './mapping.ts';
import type { Router } from './routing.ts';
import type { Tombstones } from './tombstones.ts';

/** What reached ComfyUI: a delete of the pending job, an interrupt of the running job, or nothing. */
type Sent = 'dequeued' | 'interrupted' | 'nothing';

export interface CancelDeps {
  pool: HostPool;
  router: Router;
  tombstones: Tombstones;
}

export async function cancelJob(deps: CancelDeps, id: string, signal: AbortSignal, charge?: BudgetCharge): Promise<CancelReport> {
  const s = await deps.router.search(id, signal, false, charge); // status_before needs no queue position
  if (!s.found) {
    const tomb = await deps.tombstones.holding(id, s.notFoundOn);
    if (tomb !== undefined) {
      return {
        outcome: 'already_terminal',
        status_before: 'cancelled',
        status_after: 'cancelled',
        host: tomb.host,
        message: `The gateway already removed job ${id} from the queue of ComfyUI host "${tomb.host}"; it never ran. Nothing more to do.`,
      };
    }
    if (s.errors.length) throw deps.router.searchError(id, s);
    return { outcome: 'not_found', status_before: 'unknown', status_after: 'unknown', message: notFoundMessage(id) };
  }
  const { host, report: before } = s.found;
  if (isTerminal(before.status)) {
    return {
      outcome: 'already_terminal',
      status_before: before.status,
      status_after: before.status,
      host: host.name,
      message: `Job ${id} had already finished (${before.status}) on ComfyUI host "${host.name}"; nothing was sent.`,
      ...recordOf(before),
    };
  }
  // An id no path can name is cancelled through /queue and /interrupt, which every server has.
  const api = await deps.pool.apiOf(host, signal);
  return api === 'jobs' && isRoutable(id)
    ? cancelWithJobsApi(deps, host, id, before, signal)
    : cancelLegacy(deps, host, id, before, signal);
}

/** After an interrupt: the queued jobs under the same id that were removed first, if any. */
function alsoRemovedNote(removed: number): string {
  if (removed === 0) return '';
  return ` ${removed} queued job${removed === 1 ? '' : 's'} under the same prompt id (an older server takes an id twice) ${removed === 1 ? 'was' : 'were'} removed as well.`;
}

export function notFoundMessage(id: string): string {
  return `No ComfyUI host of this project knows job ${id}. ComfyUI keeps finished jobs only in memory (restarts and the 10 000-entry history limit forget them) and keeps no record of jobs removed from its queue.`;
}

async function cancelWithJobsApi(
  deps: CancelDeps,
  host: Host,
  id: string,
  before: JobStatusReport,
  signal: AbortSignal,
): Promise<CancelReport> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const cancelled = await requestCancel(host, id, signal);
    const after = await deps.pool.lookup(host, id, signal, false);
    // {"cancelled": true}: ComfyUI dequeued a pending job, or interrupted a running one (also one
    // that started between our read and the cancel).
    if (cancelled) return settle(deps, host, id, before, after, before.status === 'queued' ? 'dequeued' : 'interrupted');
    // {"cancelled": false}: it had finished, is unknown, or a race was lost.
    if (!after.found || isTerminal(after.status)) return settle(deps, host, id, before, after, 'nothing');
    // Still queued or running although ComfyUI did nothing: it changed state under us; try once more.
  }
  throw new BackendError(
    'BACKEND_REJECTED',
    `ComfyUI host "${host.name}" twice declined to cancel job ${id}, which is still ${before.status}.`,
  );
}

/**
 * Every job under the id is cancelled: an older server takes an id it already holds (0.3.64 does), and
 * the id is all the caller has to name them. Its pending jobs are removed, then a running one is
 * interrupted; `removed` counts the pending jobs that left the queue.
 */
async function cancelLegacy(deps: CancelDeps, host: Host, id: string, before: JobStatusReport, signal: AbortSignal): Promise<CancelReport> {
  let queue = await readQueue(host, signal);
  let removed = 0;
  for (let attempt = 0; pendingUnder(queue, id) > 0; attempt++) {
    if (attempt === 2) {
      throw new BackendError('BACKEND_REJECTED', `ComfyUI host "${host.name}" kept job ${id} in its queue after two delete requests.`);
    }
    const pending = pendingUnder(queue, id);
    await deleteQueued(host, id, pending, signal);
    // The answer is always an empty 200, whatever happened, so verify: what is still in the queue?
    queue = await readQueue(host, signal);
    removed += Math.max(0, pending - pendingUnder(queue, id));
  }
  // Running (it may have started meanwhile): interrupt it, but only as /queue shows it right now (see the file comment).
  if (queue.queue_running.some((i) => i[1] === id)) return interruptLegacy(deps, host, id, before, signal, removed);
  // Gone from the queue: removed by us, or it ran and finished in between (then it is in history).
  const entry = await readHistory(host, id, signal);
  return settle(
    deps,
    host,
    id,
    before,
    entry ? fromHistoryEntry(entry, host) : notFoundReport(),
    removed > 0 ? 'dequeued' : 'nothing',
    removed,
  );
}

/** Call only right after /queue showed `id` in queue_running. */
async function interruptLegacy(
  deps: CancelDeps,
  host: Host,
  id: string,
  before: JobStatusReport,
  signal: AbortSignal,
  removed: number,
): Promise<CancelReport> {
  await interruptRunning(host, id, signal);
  const after = await deps.pool.lookup(host, id, signal, false);
  return settle(deps, host, id, before, after, 'interrupted', removed);
}

/** The cancel's outcome, from what is true after the cancel. */
async function settle(
  deps: CancelDeps,
  host: Host,
  id: string,
  before: JobStatusReport,
  after: JobStatusReport,
  sent: Sent,
  removed = sent === 'dequeued' ? 1 : 0,
): Promise<CancelReport> {
  // The details as the latest read showed them (the one before the cancel when the job is gone).
  const base = { status_before: before.status, host: host.name, ...recordOf(after.found ? after : before) };
  const alsoRemoved = sent === 'interrupted' ? alsoRemovedNote(removed) : '';
  if (!after.found) {
    if (sent === 'dequeued') {
      await deps.tombstones.remember(id, host.name);
      return {
        ...base,
        outcome: 'cancelled',
        status_after: 'cancelled',
        message:
          removed > 1
            ? `ComfyUI host "${host.name}" held ${removed} queued jobs under prompt id ${id} (an older server takes an id twice); all ${removed} were removed before they started. ComfyUI keeps no record of removed jobs; the gateway remembers them as cancelled.`
            : `Job ${id} was removed from the queue of ComfyUI host "${host.name}" before it started. ComfyUI keeps no record of removed jobs; the gateway remembers it as cancelled.`,
      };
    }
    if (sent === 'interrupted') {
      return {
        ...base,
        outcome: 'cancel_requested',
        status_after: 'unknown',
        message: `An interrupt was sent for job ${id} on ComfyUI host "${host.name}", but the host no longer knows the job (its history may have been cleared), so the result cannot be confirmed.${alsoRemoved}`,
      };
    }
    if ((await deps.tombstones.find(id))?.host === host.name) {
      // A concurrent cancel through this adapter removed it first.
      return {
        ...base,
        outcome: 'already_terminal',
        status_after: 'cancelled',
        message: `Job ${id} had already been removed from the queue of ComfyUI host "${host.name}" by the gateway.`,
      };
    }
    return { ...base, outcome: 'not_found', status_after: 'unknown', message: notFoundMessage(id) };
  }
  const status: JobStatus = after.status;
  switch (status) {
    case 'cancelled':
      if (sent === 'nothing') {
        return {
          ...base,
          outcome: 'already_terminal',
          status_after: 'cancelled',
          message: `Job ${id} had already been stopped on ComfyUI host "${host.name}".`,
        };
      }
      return {
        ...base,
        outcome: 'cancelled',
        status_after: 'cancelled',
        message:
          sent === 'dequeued' && removed > 1
            ? `ComfyUI host "${host.name}" held ${removed} queued jobs under prompt id ${id} (an older server takes an id twice); all ${removed} were removed, and the id reads cancelled.`
            : `Job ${id} was stopped on ComfyUI host "${host.name}".${alsoRemoved}`,
      };
    case 'succeeded':
    case 'failed':
      return {
        ...base,
        outcome: 'already_terminal',
        status_after: status,
        message: `Job ${id} finished (${status}) on ComfyUI host "${host.name}" before the cancel took effect.`,
      };
    case 'running':
      if (sent !== 'nothing') {
        return {
          ...base,
          outcome: 'cancel_requested',
          status_after: 'running',
          message: `Job ${id} was interrupted on ComfyUI host "${host.name}". ComfyUI stops a run between steps, so it may keep running for a while; check get_job_status to see it cancelled.${alsoRemoved}`,
        };
      }
      break;
    case 'queued':
    case 'unknown':
      break;
  }
  throw new BackendError('BACKEND_REJECTED', `ComfyUI host "${host.name}" did not cancel job ${id}: it is still ${status}. Try again.`);
}
