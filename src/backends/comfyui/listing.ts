// Listing a ComfyUI project's jobs: every host newest first (GET /api/jobs where a host has the jobs
// API, else /queue and /history), merged newest first, each job with its host. A host that cannot
// answer is named in the page, never silently dropped; the others are listed. Each host beyond the
// first costs the caller's budget one call (the call paid for one). Jobs the gateway removed from a
// queue, which ComfyUI forgets, are listed from their tombstones (tombstones.ts), as get_job_status
// reports them: cancelled, at the time of removal.
import * as z from 'zod';
import {
  LIST_LIMIT_MAX,
  advanceLast,
  keeps,
  listedBefore,
  offsetPositionSchema,
  positionOf,
  timeOf,
  type ListPage,
  type ListQuery,
  type ListedJob,
} from '../../jobs/listing.ts';
import { chargeFanOut } from '../../jobs/budget.ts';
import type { JobStatus } from '../../jobs/model.ts';
import { parseJson, unexpectedStatus } from '../http/http-client.ts';
import type { Host } from './host.ts';
import type { HostPool } from './hosts.ts';
import type { Tombstones } from './tombstones.ts';
import { readNewestHistory, readQueue } from './legacy-api.ts';
import { fromHistoryEntry, fromJobObject, fromQueueItem } from './mapping.ts';
import { badShape, isJsonObject } from './responses.ts';
import { jobSchema, type QueueItem } from './schemas.ts';

/**
 * Finished jobs of a host without the jobs API that a listing reaches, newest first: /history can only
 * be read from its newest end, so every page re-reads the entries before it.
 */
export const LEGACY_HISTORY_DEPTH = 1000;

/**
 * Each host's place in its own list, by host name; `done` once a host has nothing more. On a legacy
 * host: `queued` and `queued_number`, the last queue item read (queue items carry no time, so a job
 * queued meanwhile is recognised by finding that item again, not by time; an older server may hold two
 * jobs under one id, told apart by their numbers); `history`, once the listing has passed the end of
 * its queue, the history entries read, counted from the newest end (jobs queued meanwhile are newer
 * than every job listed, so the queue is not read again).
 */
const positionSchema = z.record(
  z.string().max(128),
  offsetPositionSchema.extend({
    done: z.literal(true).optional(),
    queued: z.string().max(256).optional(),
    queued_number: z.number().optional(),
    history: z.number().int().min(0).max(LEGACY_HISTORY_DEPTH).optional(),
  }),
);
type HostPosition = z.infer<typeof positionSchema>[string];

/** The place of the gateway's removals (tombstones) in a position: no host name starts with "@". */
const REMOVED = '@removed';

/** The jobs API's status words for the unified ones (it filters on several at once). */
const JOBS_API_WORDS: Record<JobStatus, string | undefined> = {
  queued: 'pending',
  running: 'in_progress',
  succeeded: 'completed',
  failed: 'failed',
  cancelled: 'cancelled',
  unknown: undefined,
};

/** One host's jobs from its position on: each entry a job, or undefined for one the filter leaves out. */
interface HostPage {
  entries: Array<ListedJob | undefined>;
  hasMore: boolean;
  /** The offset the entries start at (a legacy host may resume elsewhere than the position's offset). */
  from: number;
  /** A legacy host's queue items among the entries, by entry index (the rest are history). */
  queueItems?: ReadonlyArray<{ readonly id: string; readonly number: number }>;
  /** A legacy host: where in its history (from the newest end) the history entries start. */
  historyFrom?: number;
}

/**
 * A legacy queue item's place in its host's order of creation: its queue number, PromptServer's
 * counter, which a job queued with `front: true` carries negated (created as late, only run sooner).
 * Hosts without the jobs API stamp no creation time, so this is the only order of creation they give.
 */
function rankOf(item: Readonly<QueueItem>): number {
  return Math.abs(item[0]);
}

export async function listComfyui(pool: HostPool, tombstones: Tombstones, q: ListQuery): Promise<ListPage> {
  const position = positionOf(positionSchema, q.position) ?? {};
  const active = pool.hosts.filter((h) => !position[h.name]?.done);
  // The call paid for one host; the others are charged to the caller before any is read.
  await chargeFanOut(q.charge, active.length - 1, `Listing the project's ${active.length} ComfyUI hosts`);
  // Tombstones are read from the state store, not a host: they cost the caller nothing.
  const withRemoved = (q.statuses === undefined || q.statuses.has('cancelled')) && !position[REMOVED]?.done;
  const [reads, removed] = await Promise.all([
    Promise.allSettled(active.map((h) => readHost(pool, h, position[h.name], q))),
    withRemoved ? readRemoved(pool, tombstones, position[REMOVED], q.limit) : undefined,
  ]);
  const unavailable: NonNullable<ListPage['unavailable']> = [];
  const cursors = active.flatMap((host, i) => {
    const r = reads[i]!;
    if (r.status === 'rejected') {
      if (q.signal.aborted) throw r.reason;
      unavailable.push({ host: host.name, error: r.reason });
      return [];
    }
    return [{ key: host.name, at: position[host.name], page: r.value, taken: 0, last: position[host.name]?.last }];
  });
  // Every host failed (none had finished on earlier pages): the answer is the first host's error, as
  // for a status read. Otherwise the page names the hosts that failed.
  if (cursors.length === 0 && unavailable.length > 0 && active.length === pool.hosts.length) throw unavailable[0]!.error;
  if (removed) {
    // A tombstone holds only while its host does not know the job (as for a read): a job its host lists
    // (a legacy host took the same prompt id again) is listed as the host says.
    const listed = new Set(cursors.flatMap((c) => c.page.entries.flatMap((j) => (j ? [`${j.host}\n${j.job_id}`] : []))));
    const page = { ...removed, entries: removed.entries.map((j) => (j && !listed.has(`${j.host}\n${j.job_id}`) ? j : undefined)) };
    cursors.push({ key: REMOVED, at: position[REMOVED], page, taken: 0, last: position[REMOVED]?.last });
  }

  const jobs: ListedJob[] = [];
  while (jobs.length < q.limit) {
    let best: (typeof cursors)[number] | undefined;
    let bestTime = -Infinity;
    let blocked = false;
    for (const c of cursors) {
      // Entries the filter left out are passed over (and count as read).
      while (c.taken < c.page.entries.length && c.page.entries[c.taken] === undefined) c.taken++;
      if (c.taken === c.page.entries.length) {
        // This host may have newer jobs than the others' next ones beyond what was read: stop here.
        if (c.page.hasMore) blocked = true;
        continue;
      }
      // A job without a known time (a legacy host's queue) sorts first: queued jobs are the newest.
      const t = timeOf(c.page.entries[c.taken]!) ?? Infinity;
      if (!best || t > bestTime) {
        best = c;
        bestTime = t;
      }
    }
    if (blocked || !best) break;
    const job = best.page.entries[best.taken++]!;
    jobs.push(job);
    best.last = advanceLast(best.last, job);
  }

  const next: Record<string, HostPosition> = {};
  let more = false;
  for (const key of [...pool.hosts.map((h) => h.name), REMOVED])
    if (position[key]?.done) next[key] = { offset: position[key].offset, done: true };
  for (const c of cursors) {
    while (c.taken < c.page.entries.length && c.page.entries[c.taken] === undefined) c.taken++;
    const done = !c.page.hasMore && c.taken === c.page.entries.length;
    const queueRead = Math.min(c.taken, c.page.queueItems?.length ?? 0);
    const item = queueRead > 0 ? c.page.queueItems?.[queueRead - 1] : undefined;
    const queued = item
      ? { queued: item.id, queued_number: item.number }
      : c.at?.queued !== undefined
        ? { queued: c.at.queued, ...(c.at.queued_number !== undefined ? { queued_number: c.at.queued_number } : {}) }
        : undefined;
    const history = c.page.historyFrom !== undefined && c.taken > queueRead ? c.page.historyFrom + c.taken - queueRead : c.at?.history;
    next[c.key] = {
      offset: c.page.from + c.taken,
      ...(c.last ? { last: c.last } : {}),
      ...(history !== undefined ? { history } : (queued ?? {})),
      ...(done ? { done: true as const } : {}),
    };
    if (!done) more = true;
  }
  // A host that failed keeps its place, but does not keep a listing of the others going.
  for (const u of unavailable) {
    const at = position[u.host];
    next[u.host] = at ? { offset: at.offset, ...(at.last ? { last: at.last } : {}) } : { offset: 0 };
  }
  return { jobs, next: more ? next : undefined, ...(unavailable.length ? { unavailable } : {}) };
}

/**
 * The jobs the gateway removed from a queue, newest removal first, from the position on: each as
 * get_job_status reports it. A tombstone of a host no longer in the config is left out, as it is on a read.
 */
async function readRemoved(pool: HostPool, tombstones: Tombstones, at: HostPosition | undefined, limit: number): Promise<HostPage> {
  const offset = at?.offset ?? 0;
  const read = await tombstones.newest(offset, limit);
  const entries = read.map(({ id, tomb }) => {
    if (!pool.byName(tomb.host)) return undefined;
    const job: ListedJob = { job_id: id, ...tombstones.report(id, tomb) };
    return listedBefore(job, at?.last) ? undefined : job;
  });
  return { entries, hasMore: read.length === limit, from: offset };
}

/** One host's jobs from its position, newest first; jobs listed on earlier pages count as filtered out. */
async function readHost(pool: HostPool, host: Host, at: HostPosition | undefined, q: ListQuery): Promise<HostPage> {
  const offset = at?.offset ?? 0;
  let page: HostPage | undefined;
  if ((await pool.apiOf(host, q.signal)) === 'jobs') page = await readJobsApi(host, offset, q);
  page ??= await readLegacy(host, offset, at, q);
  return { ...page, entries: page.entries.map((j) => (j && !listedBefore(j, at?.last) ? j : undefined)) };
}

/** GET /api/jobs newest first, filtered by ComfyUI itself; undefined when the host turned out to be legacy. */
async function readJobsApi(host: Host, offset: number, q: ListQuery): Promise<HostPage | undefined> {
  const words = q.statuses ? [...q.statuses].map((s) => JOBS_API_WORDS[s]).filter((w): w is string => w !== undefined) : undefined;
  if (words?.length === 0) return { entries: [], hasMore: false, from: offset }; // only `unknown`: the jobs API maps every job
  const res = await host.client.call({
    action: 'list_jobs',
    method: 'GET',
    path: ['api', 'jobs'],
    query: { sort_by: 'created_at', sort_order: 'desc', limit: q.limit, offset, ...(words ? { status: words.join(',') } : {}) },
    signal: q.signal,
  });
  if (res.status === 404 && !isJsonObject(res) && host.detects) {
    host.api = 'legacy'; // the server behind the host no longer has the jobs API
    return undefined;
  }
  if (res.status !== 200) throw unexpectedStatus(host.client.name, res);
  const body = z
    .looseObject({ jobs: z.array(jobSchema), pagination: z.looseObject({ has_more: z.boolean().optional() }).optional() })
    .safeParse(parseJson(host.client.name, res));
  if (!body.success) throw badShape(host, res, '/api/jobs did not answer {jobs: [...], pagination}');
  const entries = body.data.jobs.map((job) => {
    const report = fromJobObject(job, host);
    return keeps(q.statuses, report) ? { job_id: job.id, ...report } : undefined;
  });
  return { entries, hasMore: body.data.pagination?.has_more ?? body.data.jobs.length === q.limit, from: offset };
}

/**
 * /queue newest first in the host's order of creation (rankOf), then /history newest first, from
 * `offset` on; filtered here. /history is read from its newest end up to LEGACY_HISTORY_DEPTH entries:
 * in order of completion, which is the order of creation (one worker runs jobs by number) but for a job
 * queued with `front: true` or an explicit number, found where it ran.
 */
async function readLegacy(host: Host, at: number, before: HostPosition | undefined, q: ListQuery): Promise<HostPage> {
  // Filtered here, so a filtered listing reads a larger window to find its jobs in fewer calls.
  const size = q.statuses ? LIST_LIMIT_MAX : q.limit;
  if (before?.history !== undefined) return readLegacyHistory(host, at, before.history, [], size, q);
  const queue = await readQueue(host, q.signal);
  // Each item its own job: an older server may hold two under one id, each with its own number.
  const inQueue: ListedJob[] = [...queue.queue_pending, ...queue.queue_running]
    .sort((a, b) => rankOf(b) - rankOf(a) || (a[1] < b[1] ? 1 : a[1] > b[1] ? -1 : 0))
    .map((item) => ({ job_id: item[1], ...fromQueueItem(queue, item, host) }));
  // Resume after the queue item read last, wherever jobs queued (or started) meanwhile have moved it.
  const found =
    before?.queued === undefined
      ? -1
      : inQueue.findIndex(
          (j) => j.job_id === before.queued && (before.queued_number === undefined || j.details?.number === before.queued_number),
        );
  const offset = found >= 0 ? found + 1 : at;
  const slice = inQueue.slice(offset, offset + size);
  const entries: Array<ListedJob | undefined> = slice.map((j) => (keeps(q.statuses, j) ? j : undefined));
  const fromHistory = Math.max(0, offset - inQueue.length);
  const queueItems = slice.map((j) => ({ id: j.job_id, number: j.details?.number as number }));
  if (offset + entries.length < inQueue.length) return { entries, hasMore: true, from: offset, queueItems };
  return readLegacyHistory(host, offset, fromHistory, entries, size, q, queueItems);
}

/** /history newest first from `fromHistory` on, after the queue's `entries`, up to a page of `size`. */
async function readLegacyHistory(
  host: Host,
  offset: number,
  fromHistory: number,
  entries: Array<ListedJob | undefined>,
  size: number,
  q: ListQuery,
  queueItems: HostPage['queueItems'] = [],
): Promise<HostPage> {
  const wanted = Math.min(LEGACY_HISTORY_DEPTH, fromHistory + size - entries.length);
  let hasMore: boolean;
  // No history to read now: the queue's end filled the page (history follows on the next), or the depth is reached.
  if (wanted <= fromHistory) hasMore = fromHistory < LEGACY_HISTORY_DEPTH;
  else {
    // Shared with the listings of this host that need the same window at that moment (shared-read.ts).
    const history = await readNewestHistory(host, wanted, q.signal); // in order of completion, oldest first
    for (const [id, entry] of history.toReversed().slice(fromHistory)) {
      const report = fromHistoryEntry(entry, host);
      entries.push(keeps(q.statuses, report) ? { job_id: id, ...report } : undefined);
    }
    hasMore = history.length === wanted && wanted < LEGACY_HISTORY_DEPTH;
  }
  return { entries, hasMore, from: offset, queueItems, historyFrom: fromHistory };
}
