// The routes every ComfyUI server has: GET /queue, GET /history/{id}, POST /queue {delete} and
// POST /interrupt. Reads go /queue first, then /history/{id}: a job that finishes in between is then
// seen in history, never as unknown. The write routes always answer an empty 200, whatever happened,
// so callers verify by reading again. The reads are shared (shared-read.ts): calls that need a host's
// /queue, or the same /history/{id}, at the same moment share one request and its parsed answer, and
// each call gets the answer of a read started after it came.
import { BackendError } from '../../jobs/backend-error.ts';
import { notFoundReport, type JobStatusReport } from '../../jobs/model.ts';
import { parseJson, unexpectedStatus } from '../http/http-client.ts';
import type { Host } from './host.ts';
import { isCanonicalPromptId } from './job-id.ts';
import { fromHistoryEntry, fromLegacyQueue } from './mapping.ts';
import { badShape, isJsonObject, isRecord } from './responses.ts';
import { historyEntrySchema, queueSchema, type HistoryEntry, type SharedQueue } from './schemas.ts';
import { createSharedReads } from './shared-read.ts';

/** The legacy algorithm: /queue first, then /history/{id}. */
export async function lookupLegacy(host: Host, id: string, signal: AbortSignal): Promise<JobStatusReport> {
  const queue = await readQueue(host, signal);
  const fromQueue = fromLegacyQueue(queue, id, host);
  if (fromQueue) return fromQueue;
  const entry = await readHistory(host, id, signal);
  return entry ? fromHistoryEntry(entry, host) : notFoundReport();
}

/** The host's /queue, from a read started after this call (shared with the calls that came meanwhile). */
export function readQueue(host: Host, signal: AbortSignal): Promise<SharedQueue> {
  return host.legacy.queue.read('queue', signal);
}

/** The job's history entry, or undefined (also for pending and running jobs); shared like readQueue. */
export function readHistory(host: Host, id: string, signal: AbortSignal): Promise<Readonly<HistoryEntry> | undefined> {
  return host.legacy.history.read(id, signal);
}

/** A host's shared legacy reads; `lifetime` aborts them when the adapter closes. */
export function legacyReads(host: Pick<Host, 'name' | 'client'>, lifetime: AbortSignal): Host['legacy'] {
  return {
    queue: createSharedReads((_key: 'queue', signal) => fetchQueue(host, signal), lifetime),
    history: createSharedReads((id: string, signal) => fetchHistory(host, id, signal), lifetime),
  };
}

async function fetchQueue(host: Pick<Host, 'name' | 'client'>, signal: AbortSignal): Promise<SharedQueue> {
  const res = await host.client.call({ action: 'get_queue', method: 'GET', path: ['queue'], signal });
  if (res.status !== 200) throw unexpectedStatus(host.client.name, res);
  const parsed = queueSchema.safeParse(parseJson(host.client.name, res));
  if (!parsed.success) throw badShape(host, res, '/queue did not answer {queue_running: [...], queue_pending: [...]}');
  return parsed.data;
}

async function fetchHistory(host: Pick<Host, 'name' | 'client'>, id: string, signal: AbortSignal): Promise<HistoryEntry | undefined> {
  const res = await host.client.call({ action: 'get_history', method: 'GET', path: ['history', id], jobId: id, signal });
  if (res.status === 404 && !isJsonObject(res) && !isCanonicalPromptId(id)) {
    // The web server did not route the id (aiohttp refuses "{" and "}" in a path parameter): whether
    // the host ran the job cannot be told, which is not the same as "unknown".
    throw new BackendError(
      'BACKEND_REJECTED',
      `ComfyUI host "${host.name}" cannot look this job id up in its history: its web server does not route a request naming it (HTTP 404).`,
      { httpStatus: 404, detail: res.redactedExcerpt() },
    );
  }
  if (res.status !== 200) throw unexpectedStatus(host.client.name, res);
  const body = parseJson(host.client.name, res);
  if (!isRecord(body)) throw badShape(host, res, '/history/{id} did not answer a JSON object');
  if (!Object.hasOwn(body, id)) {
    // ComfyUI answers {} (not in history; also pending and running jobs) or {id: entry}: an entry under
    // another id is an answer about another job, never taken as "not in history".
    if (Object.keys(body).length > 0)
      throw badShape(host, res, '/history/{id} answered with the history of a different job than the one asked for');
    return undefined;
  }
  const entry = historyEntrySchema.safeParse(body[id]);
  if (!entry.success) throw badShape(host, res, 'the history entry has an unexpected shape');
  return entry.data;
}

/** POST /queue {delete: [id]}: removes the job if it is still pending; silent either way. */
export async function deleteQueued(host: Host, id: string, signal: AbortSignal): Promise<void> {
  const res = await host.client.call({ action: 'delete_queued', method: 'POST', path: ['queue'], json: { delete: [id] }, signal });
  if (res.status < 200 || res.status > 299) throw unexpectedStatus(host.client.name, res);
}

/**
 * POST /interrupt naming the job. Call only right after /queue showed `id` running: older servers
 * ignore the body and interrupt whatever runs, so a bare or stale interrupt could kill another job.
 */
export async function interruptRunning(host: Host, id: string, signal: AbortSignal): Promise<void> {
  const res = await host.client.call({ action: 'interrupt', method: 'POST', path: ['interrupt'], json: { prompt_id: id }, signal });
  if (res.status < 200 || res.status > 299) throw unexpectedStatus(host.client.name, res);
}
