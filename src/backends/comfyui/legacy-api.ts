// The routes every ComfyUI server has: GET /queue, GET /history/{id}, POST /queue {delete} and
// POST /interrupt. Reads go /queue first, then /history/{id}: a job that finishes in between is then
// seen in history, never as unknown. The write routes always answer an empty 200, whatever happened,
// so callers verify by reading again. The reads are shared (shared-read.ts): calls that need a host's
// /queue, or the same /history/{id}, at the same moment share one request and its parsed answer, and
// each call gets the answer of a read started after it came.
import { notFoundReport, type JobStatusReport } from '../../jobs/model.ts';
import { parseJson, unexpectedStatus } from '../http/http-client.ts';
import type { Host } from './host.ts';
import { isCanonicalPromptId, isRoutable } from './job-id.ts';
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
    newestHistory: createSharedReads((maxItems: number, signal) => fetchNewestHistory(host, maxItems, signal), lifetime),
  };
}

/**
 * The host's newest `maxItems` history entries (GET /history?max_items=), oldest first as ComfyUI
 * keeps them, from a read started after this call; shared like readQueue.
 */
export function readNewestHistory(
  host: Host,
  maxItems: number,
  signal: AbortSignal,
): Promise<ReadonlyArray<readonly [string, Readonly<HistoryEntry>]>> {
  return host.legacy.newestHistory.read(maxItems, signal);
}

async function fetchNewestHistory(
  host: Pick<Host, 'name' | 'client'>,
  maxItems: number,
  signal: AbortSignal,
): Promise<Array<readonly [string, HistoryEntry]>> {
  const res = await host.client.call({ action: 'list_history', method: 'GET', path: ['history'], query: { max_items: maxItems }, signal });
  if (res.status !== 200) throw unexpectedStatus(host.client.name, res);
  const body = parseJson(host.client.name, res);
  if (!isRecord(body)) throw badShape(host, res, '/history did not answer a JSON object');
  return Object.entries(body).map(([id, value]) => {
    const entry = historyEntrySchema.safeParse(value);
    if (!entry.success) throw badShape(host, res, 'a history entry has an unexpected shape');
    return [id, entry.data] as const;
  });
}

async function fetchQueue(host: Pick<Host, 'name' | 'client'>, signal: AbortSignal): Promise<SharedQueue> {
  const res = await host.client.call({ action: 'get_queue', method: 'GET', path: ['queue'], signal });
  if (res.status !== 200) throw unexpectedStatus(host.client.name, res);
  const parsed = queueSchema.safeParse(parseJson(host.client.name, res));
  if (!parsed.success) throw badShape(host, res, '/queue did not answer {queue_running: [...], queue_pending: [...]}');
  return parsed.data;
}

async function fetchHistory(host: Pick<Host, 'name' | 'client'>, id: string, signal: AbortSignal): Promise<HistoryEntry | undefined> {
  // An id no path can name is looked for in the whole history instead, and so is one the web server
  // did not route for another reason (a plain 404).
  if (!isRoutable(id)) return scanHistory(host, id, signal);
  const res = await host.client.call({ action: 'get_history', method: 'GET', path: ['history', id], jobId: id, signal });
  if (res.status === 404 && !isJsonObject(res) && !isCanonicalPromptId(id)) return scanHistory(host, id, signal);
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

/** History entries read at once while scanning for an id that cannot be named in a path. */
export const HISTORY_SCAN_PAGE = 500;
/** ComfyUI keeps at most 10,000 entries (MAXIMUM_HISTORY_SIZE): the scan stops past twice that. */
const HISTORY_SCAN_MAX = 20_000;

/**
 * The job's entry, looked for in GET /history?max_items=&offset= from the oldest entry on (ComfyUI's
 * offset counts from the oldest end). An entry that finishes during the scan is appended at the end,
 * where the scan still reaches it; only an eviction during the scan (a full history) can shift an
 * entry past it. A server from before GET /history took an offset answers every page with its newest
 * entries: seen as a page starting where the one before did, it is read whole (GET /history) instead.
 */
async function scanHistory(host: Pick<Host, 'name' | 'client'>, id: string, signal: AbortSignal): Promise<HistoryEntry | undefined> {
  let first: string | undefined;
  for (let offset = 0; offset < HISTORY_SCAN_MAX; offset += HISTORY_SCAN_PAGE) {
    const page = await readHistoryPage(host, id, { max_items: HISTORY_SCAN_PAGE, offset }, signal);
    const keys = Object.keys(page.body);
    if (offset > 0 && keys[0] === first) return (await readHistoryPage(host, id, {}, signal)).entry;
    if (page.entry !== undefined || keys.length < HISTORY_SCAN_PAGE) return page.entry;
    first = keys[0];
  }
  return undefined;
}

/** One GET /history read of a scan: the entries by id, and the job's among them (parsed). */
async function readHistoryPage(
  host: Pick<Host, 'name' | 'client'>,
  id: string,
  query: Record<string, number>,
  signal: AbortSignal,
): Promise<{ body: Record<string, unknown>; entry: HistoryEntry | undefined }> {
  const res = await host.client.call({ action: 'scan_history', method: 'GET', path: ['history'], query, jobId: id, signal });
  if (res.status !== 200) throw unexpectedStatus(host.client.name, res);
  const body = parseJson(host.client.name, res);
  if (!isRecord(body)) throw badShape(host, res, '/history did not answer a JSON object');
  if (!Object.hasOwn(body, id)) return { body, entry: undefined };
  const entry = historyEntrySchema.safeParse(body[id]);
  if (!entry.success) throw badShape(host, res, 'the history entry has an unexpected shape');
  return { body, entry: entry.data };
}

/**
 * POST /queue {delete: [id, …]}: each copy of the id removes one pending job under it (ComfyUI deletes
 * the first match per entry), so `count` copies remove that many; silent either way.
 */
export async function deleteQueued(host: Host, id: string, count: number, signal: AbortSignal): Promise<void> {
  const json = { delete: Array.from({ length: Math.max(1, count) }, () => id) };
  const res = await host.client.call({ action: 'delete_queued', method: 'POST', path: ['queue'], json, signal });
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
