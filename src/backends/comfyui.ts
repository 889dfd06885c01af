// ComfyUI adapter (backends.md 1.6): one project, one or more self-hosted ComfyUI hosts.
//
// - Job ids are prompt ids: canonical lowercase UUIDs. Anything else is refused before a URL exists.
// - A job is looked for on every host in parallel; the host that had it is remembered (bounded), and
//   later calls go straight there. A host that cannot answer is never taken as "not there": if no
//   other host knows the job, the answer is the host's error (BACKEND_UNAVAILABLE …), not unknown.
// - Each host speaks either the jobs API (/api/jobs/{id}, /api/jobs/{id}/cancel) or only the legacy
//   routes (/queue, /history/{id}, /queue {delete}, /interrupt). With `api: auto` each host is probed
//   once (GET /api/jobs/<random uuid>: JSON 404 {"error":"Job not found"} ⇒ jobs API; a non-JSON 404
//   or a 405 ⇒ legacy); a probe that fails because the host is down is not remembered.
// - Legacy reads go /queue first, then /history/{id} (a job that finishes in between is then seen in
//   history, never as unknown).
// - Cancel reads the status first, acts, then reads again, and reports what is true afterwards: a
//   pending job removed from the queue is `cancelled`; a running job that was interrupted but has not
//   stopped yet is `cancel_requested` (ComfyUI's interrupt is cooperative). A legacy interrupt always
//   names the prompt id and is sent only right after /queue showed that id running: older servers ignore
//   the body and interrupt whatever runs, so a bare or stale interrupt could kill someone else's job.
// - ComfyUI forgets a job removed from its pending queue (it never enters history). The adapter keeps a
//   bounded, per-instance tombstone of the jobs *it* removed, so a later status says `cancelled` and a
//   later cancel `already_terminal` instead of unknown / not_found. The tombstones live in this
//   process only: another replica, or this one after a restart, answers unknown for such a job.
import { randomUUID } from 'node:crypto';
import * as z from 'zod';
import type { ComfyuiBackendConfig } from '../config/schema.ts';
import { BackendError, isBackendError } from '../jobs/backend-error.ts';
import { assertJobId, CANONICAL_UUID, type CallContext, type CancelContext, type JobBackend } from '../jobs/backend.ts';
import { isTerminal, notFoundReport, timesOf, type CancelReport, type JobError, type JobStatus, type JobStatusReport } from '../jobs/model.ts';
import type { AdapterOptions } from './adapter-options.ts';
import { createHttpClient, unexpectedStatus, type HttpClient, type HttpResponse } from './http-client.ts';

type ApiKind = 'jobs' | 'legacy';

interface Host {
  readonly name: string;
  readonly client: HttpClient;
  /** Known API kind (fixed by config, or learned by the probe). */
  api: ApiKind | undefined;
  /** The probe in flight, shared by concurrent calls. */
  probing: Promise<ApiKind> | undefined;
}

/** Tombstones kept at most, and for how long. */
const TOMBSTONE_MAX = 10_000;
const TOMBSTONE_MAX_AGE_MS = 7 * 24 * 3600_000;
/** Job → host memory. */
const HOST_MEMORY_MAX = 10_000;
/** Output files listed in one status. */
const MAX_OUTPUTS = 100;
/**
 * Largest answer read from a host. GET /queue carries the full graph of every queued prompt (a busy
 * host with large workflows easily exceeds the client's 1 MiB default), and there is no smaller legacy
 * way to see the queue.
 */
const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

/**
 * What `raw_status` says for a job the gateway removed from a ComfyUI queue. ComfyUI itself has no
 * word for it (the job simply vanishes), so this states what happened rather than quoting the backend.
 */
export const REMOVED_BY_GATEWAY = 'removed from queue by the gateway';

// ---- shapes the adapter relies on ---------------------------------------------------------------

const JOB_API_STATUSES = ['pending', 'in_progress', 'completed', 'failed', 'cancelled'] as const;
const num = z.number().nullish();
const messagesSchema = z.array(z.unknown()).nullish();
const historyStatusSchema = z.looseObject({ status_str: z.string().nullish(), completed: z.boolean().nullish(), messages: messagesSchema }).nullish();

const jobSchema = z.looseObject({
  id: z.string(),
  status: z.enum(JOB_API_STATUSES),
  priority: num,
  create_time: num,
  execution_start_time: num,
  execution_end_time: num,
  execution_error: z.record(z.string(), z.unknown()).nullish(),
  outputs: z.record(z.string(), z.unknown()).nullish(),
  execution_status: historyStatusSchema,
});
type JobObject = z.infer<typeof jobSchema>;

const jobListSchema = z.looseObject({
  jobs: z.array(z.looseObject({ id: z.string(), status: z.string(), priority: z.number().nullish() })),
});

const cancelAnswerSchema = z.looseObject({ cancelled: z.boolean() });

const queueItemSchema = z.tuple([z.number(), z.string()], z.unknown());
const queueSchema = z.looseObject({ queue_running: z.array(queueItemSchema), queue_pending: z.array(queueItemSchema) });
type QueueItem = z.infer<typeof queueItemSchema>;
type Queue = z.infer<typeof queueSchema>;

const historyEntrySchema = z.looseObject({
  prompt: z.array(z.unknown()).nullish(),
  outputs: z.record(z.string(), z.unknown()).nullish(),
  status: historyStatusSchema,
});
type HistoryEntry = z.infer<typeof historyEntrySchema>;

// ---- the adapter --------------------------------------------------------------------------------

export function createComfyuiBackend(config: ComfyuiBackendConfig, options: AdapterOptions): JobBackend {
  const now = options.now ?? Date.now;
  const timeoutMs = config.timeout_ms ?? options.timeoutMs;
  const configuredApi = config.api ?? 'auto';
  const hosts: Host[] = config.hosts.map((h) => ({
    name: h.name,
    client: createHttpClient({
      name: `${options.name}/${h.name}`,
      baseUrl: h.url,
      ...(h.headers ? { headers: h.headers } : {}),
      timeoutMs,
      maxResponseBytes: MAX_RESPONSE_BYTES,
      observe: options.observe,
    }),
    api: configuredApi === 'auto' ? undefined : configuredApi,
    probing: undefined,
  }));
  const hostByName = new Map(hosts.map((h) => [h.name, h]));
  /** Which host had a job (bounded; oldest forgotten first). */
  const jobHost = new BoundedMap<string>(HOST_MEMORY_MAX, Infinity, now);
  /** Jobs this adapter removed from a pending queue: host name. */
  const tombstones = new BoundedMap<string>(TOMBSTONE_MAX, TOMBSTONE_MAX_AGE_MS, now);
  /** Aborts probes when the adapter closes (a probe serves many callers, so no caller's signal owns it). */
  const lifetime = new AbortController();

  function validateJobId(jobId: string): string | null {
    if (CANONICAL_UUID.test(jobId)) return null;
    if (jobId.length === 36 && CANONICAL_UUID.test(jobId.toLowerCase())) {
      return 'a ComfyUI job id is a prompt id in lowercase: ComfyUI compares ids exactly, so write this UUID in lowercase letters.';
    }
    return 'a ComfyUI job id is a prompt id: a UUID in canonical lowercase form, 36 characters such as 123e4567-e89b-42d3-a456-426614174000.';
  }

  // -- API kind per host ----------------------------------------------------------------------

  async function apiOf(host: Host, signal: AbortSignal): Promise<ApiKind> {
    if (host.api) return host.api;
    host.probing ??= probe(host).finally(() => {
      host.probing = undefined;
    });
    return withSignal(host.probing, signal);
  }

  async function probe(host: Host): Promise<ApiKind> {
    const res = await host.client.call({ operation: 'probe_jobs_api', method: 'GET', path: ['api', 'jobs', randomUUID()], signal: lifetime.signal });
    let kind: ApiKind;
    if (res.status === 404) kind = jsonErrorIs(res, 'Job not found') ? 'jobs' : 'legacy';
    else if (res.status === 405) kind = 'legacy';
    else if (res.status === 200) {
      jobSchemaParse(host, res); // a job under a random id: odd, but it is the jobs API answering
      kind = 'jobs';
    } else throw unexpectedStatus(host.client.name, res); // down, auth, …: not remembered
    host.api = kind;
    return kind;
  }

  // -- one host ---------------------------------------------------------------------------------

  /** The job as one host sees it (found: false when the host has no record). */
  async function lookup(host: Host, id: string, signal: AbortSignal, withPosition = true): Promise<JobStatusReport> {
    const api = await apiOf(host, signal);
    return api === 'jobs' ? lookupJobs(host, id, signal, withPosition) : lookupLegacy(host, id, signal);
  }

  async function lookupJobs(host: Host, id: string, signal: AbortSignal, withPosition: boolean): Promise<JobStatusReport> {
    const res = await host.client.call({ operation: 'get_job', method: 'GET', path: ['api', 'jobs', id], signal });
    if (res.status === 404) {
      if (isJsonObject(res)) return notFoundReport();
      // A plain 404 on the jobs route: the server behind this host no longer has the jobs API
      // (downgraded or replaced). With `auto`, fall back to the legacy routes; else it is a config error.
      if (configuredApi === 'auto') {
        host.api = 'legacy';
        return lookupLegacy(host, id, signal);
      }
      throw unexpectedStatus(host.client.name, res);
    }
    if (res.status !== 200) throw unexpectedStatus(host.client.name, res);
    const job = jobSchemaParse(host, res);
    if (job.id !== id) throw badShape(host, `the jobs API answered for job ${job.id.slice(0, 40)} instead of the one asked for`);
    const report = fromJobObject(job, host);
    if (job.status === 'pending' && withPosition) {
      const position = await pendingPosition(host, job, signal);
      if (position !== undefined) report.queue_position = position;
    }
    return report;
  }

  /**
   * Jobs ahead of a pending job, from the compact pending list. The position is extra information: if
   * it cannot be read (or the job started meanwhile) it is left out; the status stays as read.
   */
  async function pendingPosition(host: Host, job: JobObject, signal: AbortSignal): Promise<number | undefined> {
    try {
      const res = await host.client.call({ operation: 'list_pending', method: 'GET', path: ['api', 'jobs'], query: { status: 'pending' }, signal });
      if (res.status !== 200) return undefined;
      const list = jobListSchema.safeParse(safeJson(res.text));
      if (!list.success) return undefined;
      const mine = list.data.jobs.find((j) => j.id === job.id);
      if (!mine || typeof mine.priority !== 'number') return undefined;
      return list.data.jobs.filter((j) => j.id !== job.id && typeof j.priority === 'number' && aheadOf(j.priority, j.id, mine.priority!, mine.id)).length;
    } catch (e) {
      if (signal.aborted) throw e;
      return undefined;
    }
  }

  async function readQueue(host: Host, signal: AbortSignal): Promise<Queue> {
    const res = await host.client.call({ operation: 'get_queue', method: 'GET', path: ['queue'], signal });
    if (res.status !== 200) throw unexpectedStatus(host.client.name, res);
    const parsed = queueSchema.safeParse(parseBody(host, res));
    if (!parsed.success) throw badShape(host, '/queue did not answer {queue_running: [...], queue_pending: [...]}');
    return parsed.data;
  }

  async function readHistory(host: Host, id: string, signal: AbortSignal): Promise<HistoryEntry | undefined> {
    const res = await host.client.call({ operation: 'get_history', method: 'GET', path: ['history', id], signal });
    if (res.status !== 200) throw unexpectedStatus(host.client.name, res);
    const body = parseBody(host, res);
    if (!isRecord(body)) throw badShape(host, '/history/{id} did not answer a JSON object');
    if (!(id in body)) return undefined; // {}: not in history (also pending and running jobs)
    const entry = historyEntrySchema.safeParse(body[id]);
    if (!entry.success) throw badShape(host, 'the history entry has an unexpected shape');
    return entry.data;
  }

  /** Legacy algorithm: /queue first, then /history/{id}. */
  async function lookupLegacy(host: Host, id: string, signal: AbortSignal): Promise<JobStatusReport> {
    const queue = await readQueue(host, signal);
    const fromQueue = fromLegacyQueue(queue, id, host);
    if (fromQueue) return fromQueue;
    const entry = await readHistory(host, id, signal);
    return entry ? fromHistoryEntry(entry, host) : notFoundReport();
  }

  // -- across hosts -----------------------------------------------------------------------------

  interface Search {
    /** The host that knows the job, and what it said. */
    found?: { host: Host; report: JobStatusReport };
    /** Hosts that answered and do not know the job. */
    notFoundOn: Set<string>;
    /** Hosts that could not answer. */
    errors: Array<{ host: Host; error: unknown }>;
  }

  /** Asks the remembered host, or every host in parallel; settles as soon as one host knows the job. */
  function search(id: string, signal: AbortSignal, withPosition: boolean): Promise<Search> {
    const remembered = jobHost.get(id);
    const candidates = remembered !== undefined && hostByName.has(remembered) ? [hostByName.get(remembered)!] : hosts;
    const stop = new AbortController();
    const combined = AbortSignal.any([signal, stop.signal]);
    const result: Search = { notFoundOn: new Set(), errors: [] };
    return new Promise<Search>((resolve, reject) => {
      let pending = candidates.length;
      let settled = false;
      const finish = () => {
        if (settled || --pending > 0) return;
        settled = true;
        if (signal.aborted) reject(signal.reason);
        else resolve(result);
      };
      for (const host of candidates) {
        lookup(host, id, combined, withPosition).then(
          (report) => {
            if (settled) return;
            if (report.found) {
              settled = true;
              stop.abort(); // the other hosts' answers are no longer needed
              jobHost.set(id, host.name);
              resolve({ ...result, found: { host, report } });
              return;
            }
            result.notFoundOn.add(host.name);
            finish();
          },
          (error: unknown) => {
            if (!settled) result.errors.push({ host, error });
            finish();
          },
        );
      }
    });
  }

  /** The error to raise when no host knows the job and some host could not answer. */
  function searchError(id: string, s: Search): BackendError {
    const first = s.errors[0]!;
    const e = first.error;
    const base = isBackendError(e) ? e : new BackendError('BACKEND_UNAVAILABLE', `ComfyUI host "${first.host.name}" failed: ${(e as Error)?.message ?? String(e)}`);
    if (hosts.length === 1) return base;
    const missing = [...s.notFoundOn];
    const unreachable = s.errors.map((x) => `"${x.host.name}"`).join(', ');
    const where = missing.length ? `host(s) ${missing.map((n) => `"${n}"`).join(', ')} do not know job ${id}, and ` : '';
    return new BackendError(base.code, `${where}ComfyUI host(s) ${unreachable} could not be asked, so the job may be there: ${base.message}`, {
      ...(base.httpStatus !== undefined ? { httpStatus: base.httpStatus } : {}),
      ...(base.retryAfterSeconds !== undefined ? { retryAfterSeconds: base.retryAfterSeconds } : {}),
      cause: e,
    });
  }

  /** A tombstone that holds: the host that had the job answered and no longer knows it. */
  function tombstoneFor(id: string, s: Search): string | undefined {
    const hostName = tombstones.get(id);
    return hostName !== undefined && s.notFoundOn.has(hostName) ? hostName : undefined;
  }

  function tombstoneReport(id: string, hostName: string): JobStatusReport {
    const at = tombstones.timeOf(id);
    return {
      found: true,
      status: 'cancelled',
      raw_status: REMOVED_BY_GATEWAY,
      host: hostName,
      ...(at !== undefined ? { completed_at: new Date(at).toISOString() } : {}),
    };
  }

  // -- the JobBackend ---------------------------------------------------------------------------

  async function getStatus(jobId: string, ctx: CallContext): Promise<JobStatusReport> {
    assertJobId(validateJobId, jobId);
    const s = await search(jobId, ctx.signal, true);
    if (s.found) return s.found.report;
    const tomb = tombstoneFor(jobId, s);
    if (tomb !== undefined) return tombstoneReport(jobId, tomb);
    if (s.errors.length) throw searchError(jobId, s);
    return notFoundReport();
  }

  async function cancel(jobId: string, ctx: CancelContext): Promise<CancelReport> {
    assertJobId(validateJobId, jobId);
    const s = await search(jobId, ctx.signal, false); // status_before needs no queue position
    if (!s.found) {
      const tomb = tombstoneFor(jobId, s);
      if (tomb !== undefined) {
        return {
          outcome: 'already_terminal',
          status_before: 'cancelled',
          status_after: 'cancelled',
          host: tomb,
          message: `The gateway already removed job ${jobId} from the queue of ComfyUI host "${tomb}"; it never ran. Nothing more to do.`,
        };
      }
      if (s.errors.length) throw searchError(jobId, s);
      return { outcome: 'not_found', status_before: 'unknown', status_after: 'unknown', message: notFoundMessage(jobId) };
    }
    const { host, report: before } = s.found;
    if (isTerminal(before.status)) {
      return {
        outcome: 'already_terminal',
        status_before: before.status,
        status_after: before.status,
        host: host.name,
        message: `Job ${jobId} had already finished (${before.status}) on ComfyUI host "${host.name}"; nothing was sent.`,
      };
    }
    const api = await apiOf(host, ctx.signal);
    return api === 'jobs' ? cancelWithJobsApi(host, jobId, before, ctx.signal) : cancelLegacy(host, jobId, before, ctx.signal);
  }

  async function cancelWithJobsApi(host: Host, id: string, before: JobStatusReport, signal: AbortSignal): Promise<CancelReport> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const res = await host.client.call({ operation: 'cancel_job', method: 'POST', path: ['api', 'jobs', id, 'cancel'], signal });
      if (res.status !== 200) throw unexpectedStatus(host.client.name, res);
      const answer = cancelAnswerSchema.safeParse(parseBody(host, res));
      if (!answer.success) throw badShape(host, 'the cancel answer is not {"cancelled": true|false}');
      const after = await lookup(host, id, signal, false);
      // {"cancelled": true}: ComfyUI dequeued a pending job, or interrupted a running one (also one
      // that started between our read and the cancel).
      if (answer.data.cancelled) return settle(host, id, before, after, before.status === 'queued' ? 'dequeued' : 'interrupted');
      // {"cancelled": false}: it had finished, is unknown, or a race was lost.
      if (!after.found || isTerminal(after.status)) return settle(host, id, before, after, 'nothing');
      // Still queued or running although ComfyUI did nothing: it changed state under us; try once more.
    }
    throw new BackendError('BACKEND_REJECTED', `ComfyUI host "${host.name}" twice declined to cancel job ${id}, which is still ${before.status}.`);
  }

  async function cancelLegacy(host: Host, id: string, before: JobStatusReport, signal: AbortSignal): Promise<CancelReport> {
    if (before.status === 'queued') {
      for (let attempt = 0; attempt < 2; attempt++) {
        const res = await host.client.call({ operation: 'delete_queued', method: 'POST', path: ['queue'], json: { delete: [id] }, signal });
        if (res.status < 200 || res.status > 299) throw unexpectedStatus(host.client.name, res);
        // The answer is always an empty 200, whatever happened, so verify: is it still in the queue?
        const queue = await readQueue(host, signal);
        if (queue.queue_running.some((i) => i[1] === id)) return interruptLegacy(host, id, before, signal); // it started meanwhile
        if (queue.queue_pending.some((i) => i[1] === id)) continue;
        // Gone from the queue: removed by us, or it ran and finished in between (then it is in history).
        const entry = await readHistory(host, id, signal);
        return settle(host, id, before, entry ? fromHistoryEntry(entry, host) : notFoundReport(), 'dequeued');
      }
      throw new BackendError('BACKEND_REJECTED', `ComfyUI host "${host.name}" kept job ${id} in its queue after two delete requests.`);
    }
    // Running: interrupt it, but only if /queue shows it running right now (see the file comment).
    const queue = await readQueue(host, signal);
    if (queue.queue_running.some((i) => i[1] === id)) return interruptLegacy(host, id, before, signal);
    // No longer running: it finished (or vanished) between the two reads; nothing is sent.
    const entry = await readHistory(host, id, signal);
    return settle(host, id, before, entry ? fromHistoryEntry(entry, host) : notFoundReport(), 'nothing');
  }

  /** Call only right after /queue showed `id` in queue_running. */
  async function interruptLegacy(host: Host, id: string, before: JobStatusReport, signal: AbortSignal): Promise<CancelReport> {
    // Always targeted, never a bare /interrupt: older servers ignore the body, newer ones check the id.
    const res = await host.client.call({ operation: 'interrupt', method: 'POST', path: ['interrupt'], json: { prompt_id: id }, signal });
    if (res.status < 200 || res.status > 299) throw unexpectedStatus(host.client.name, res);
    const after = await lookup(host, id, signal, false);
    return settle(host, id, before, after, 'interrupted');
  }

  /**
   * The outcome from what is true after the cancel: `sent` says what reached ComfyUI ('dequeued': a
   * delete of the pending job took effect or was sent; 'interrupted': an interrupt of the running job;
   * 'nothing': ComfyUI did not act).
   */
  function settle(host: Host, id: string, before: JobStatusReport, after: JobStatusReport, sent: 'dequeued' | 'interrupted' | 'nothing'): CancelReport {
    const base = { status_before: before.status, host: host.name };
    if (!after.found) {
      if (sent === 'dequeued') {
        tombstones.set(id, host.name);
        return {
          ...base,
          outcome: 'cancelled',
          status_after: 'cancelled',
          message: `Job ${id} was removed from the queue of ComfyUI host "${host.name}" before it started. ComfyUI keeps no record of removed jobs; the gateway remembers it as cancelled.`,
        };
      }
      if (sent === 'interrupted') {
        return {
          ...base,
          outcome: 'cancel_requested',
          status_after: 'unknown',
          message: `An interrupt was sent for job ${id} on ComfyUI host "${host.name}", but the host no longer knows the job (its history may have been cleared), so the result cannot be confirmed.`,
        };
      }
      if (tombstones.get(id) === host.name) {
        // A concurrent cancel through this adapter removed it first.
        return { ...base, outcome: 'already_terminal', status_after: 'cancelled', message: `Job ${id} had already been removed from the queue of ComfyUI host "${host.name}" by the gateway.` };
      }
      return { ...base, outcome: 'not_found', status_after: 'unknown', message: notFoundMessage(id) };
    }
    const status: JobStatus = after.status;
    switch (status) {
      case 'cancelled':
        if (sent === 'nothing') {
          return { ...base, outcome: 'already_terminal', status_after: 'cancelled', message: `Job ${id} had already been stopped on ComfyUI host "${host.name}".` };
        }
        return { ...base, outcome: 'cancelled', status_after: 'cancelled', message: `Job ${id} was stopped on ComfyUI host "${host.name}".` };
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
            message: `Job ${id} was interrupted on ComfyUI host "${host.name}". ComfyUI stops a run between steps, so it may keep running for a while; check get_job_status to see it cancelled.`,
          };
        }
        break;
      case 'queued':
      case 'unknown':
        break;
    }
    throw new BackendError('BACKEND_REJECTED', `ComfyUI host "${host.name}" did not cancel job ${id}: it is still ${status}. Try again.`);
  }

  return {
    kind: 'comfyui',
    name: options.name,
    validateJobId,
    getStatus,
    cancel,
    async close() {
      lifetime.abort();
      await Promise.allSettled(hosts.map((h) => h.client.close()));
    },
  };
}

// ---- mapping ------------------------------------------------------------------------------------

function fromJobObject(job: JobObject, host: Host): JobStatusReport {
  let status: JobStatus;
  switch (job.status) {
    case 'pending':
      status = 'queued';
      break;
    case 'in_progress':
      status = 'running';
      break;
    case 'failed':
      status = 'failed';
      break;
    case 'cancelled':
      status = 'cancelled';
      break;
    case 'completed':
      // ComfyUI also says "completed" for a history entry without status_str (lenient). The single-job
      // answer carries that raw status: its messages decide then, as for the legacy routes.
      status = job.execution_status?.status_str === 'success' ? 'succeeded' : statusFromHistory(job.execution_status).status;
      break;
  }
  const report: JobStatusReport = {
    found: true,
    status,
    raw_status: job.status,
    host: host.name,
    ...timesOf({ created: job.create_time, started: job.execution_start_time, completed: job.execution_end_time }),
  };
  const error = job.execution_error ? errorFrom(job.execution_error) : status === 'failed' ? errorFromMessages(job.execution_status?.messages) : undefined;
  if (error) report.error = error;
  const outputs = flattenOutputs(job.outputs);
  if (outputs) report.outputs = outputs;
  return report;
}

function fromLegacyQueue(queue: Queue, id: string, host: Host): JobStatusReport | undefined {
  const run = queue.queue_running.find((i) => i[1] === id);
  if (run) {
    return { found: true, status: 'running', raw_status: 'running', host: host.name, ...timesOf({ created: createTimeOf(run) }) };
  }
  const mine = queue.queue_pending.find((i) => i[1] === id);
  if (!mine) return undefined;
  // queue_pending is ComfyUI's heap array, not sorted: the position is the number of pending jobs the
  // worker will start before this one (0 = next to start), in the heap's own order (number, prompt_id).
  const ahead = queue.queue_pending.filter((i) => i[1] !== id && aheadOf(i[0], i[1], mine[0], mine[1])).length;
  return { found: true, status: 'queued', raw_status: 'pending', queue_position: ahead, host: host.name, ...timesOf({ created: createTimeOf(mine) }) };
}

function fromHistoryEntry(entry: HistoryEntry, host: Host): JobStatusReport {
  const { status, started, ended } = statusFromHistory(entry.status);
  // raw_status: the history's own status_str ("success" / "error"), null when ComfyUI recorded none.
  const promptTuple = entry.prompt;
  const extra = Array.isArray(promptTuple) ? promptTuple[3] : undefined;
  const report: JobStatusReport = {
    found: true,
    status,
    raw_status: entry.status?.status_str ?? null,
    host: host.name,
    ...timesOf({ created: isRecord(extra) ? extra.create_time : undefined, started, completed: ended }),
  };
  if (status === 'failed') {
    const error = errorFromMessages(entry.status?.messages) ?? { message: 'ComfyUI reported the run as failed without an error message' };
    report.error = error;
  }
  const outputs = flattenOutputs(entry.outputs);
  if (outputs) report.outputs = outputs;
  return report;
}

/**
 * succeeded / failed / cancelled from a history `status`, like ComfyUI's jobs API: "success" →
 * succeeded; "error" → cancelled when an execution_interrupted message is present, else failed. With no
 * status_str (older entries), the recorded messages decide; with none either, ComfyUI's own rule
 * ("completed") is followed, so both API kinds agree.
 */
function statusFromHistory(status: HistoryEntry['status']): { status: 'succeeded' | 'failed' | 'cancelled'; started?: unknown; ended?: unknown } {
  let started: unknown;
  let ended: unknown;
  let sawError = false;
  let sawInterrupt = false;
  for (const m of status?.messages ?? []) {
    if (!Array.isArray(m) || m.length < 2 || !isRecord(m[1])) continue;
    const [name, data] = m as [unknown, Record<string, unknown>];
    if (name === 'execution_start') started = data.timestamp;
    else if (name === 'execution_success' || name === 'execution_error' || name === 'execution_interrupted') {
      ended = data.timestamp;
      if (name === 'execution_error') sawError = true;
      if (name === 'execution_interrupted') sawInterrupt = true;
    }
  }
  const s = status?.status_str;
  let out: 'succeeded' | 'failed' | 'cancelled';
  if (s === 'success') out = 'succeeded';
  else if (s === 'error') out = sawInterrupt ? 'cancelled' : 'failed';
  else out = sawInterrupt ? 'cancelled' : sawError ? 'failed' : 'succeeded';
  return { status: out, started, ended };
}

function errorFromMessages(messages: unknown[] | null | undefined): JobError | undefined {
  for (const m of messages ?? []) {
    if (Array.isArray(m) && m[0] === 'execution_error' && isRecord(m[1])) return errorFrom(m[1]);
  }
  return undefined;
}

function errorFrom(e: Record<string, unknown>): JobError {
  const message = typeof e.exception_message === 'string' && e.exception_message.trim() !== '' ? e.exception_message.trim() : 'ComfyUI reported an execution error';
  const error: JobError = { message: message.slice(0, 2000) };
  if (typeof e.exception_type === 'string' && e.exception_type) error.type = e.exception_type.slice(0, 200);
  // node: the node id as ComfyUI names it in the graph (node_type stays in the backend's record).
  const node = typeof e.node_id === 'string' || typeof e.node_id === 'number' ? String(e.node_id) : undefined;
  if (node) error.node = node.slice(0, 200);
  return error;
}

/** History outputs {node: {images: [{filename, subfolder, type}], …}} as a flat list of files. */
function flattenOutputs(outputs: Record<string, unknown> | null | undefined): Record<string, unknown>[] | undefined {
  if (!outputs) return undefined;
  const files: Record<string, unknown>[] = [];
  for (const [node, nodeOut] of Object.entries(outputs)) {
    if (!isRecord(nodeOut)) continue;
    for (const [media, items] of Object.entries(nodeOut)) {
      if (media === 'animated' || !Array.isArray(items)) continue;
      for (const item of items) {
        if (!isRecord(item) || typeof item.filename !== 'string') continue;
        if (files.length >= MAX_OUTPUTS) return files;
        files.push({
          node,
          media,
          filename: item.filename,
          subfolder: typeof item.subfolder === 'string' ? item.subfolder : '',
          type: typeof item.type === 'string' ? item.type : 'output',
        });
      }
    }
  }
  return files.length ? files : undefined;
}

function createTimeOf(item: QueueItem): unknown {
  const extra = item[3];
  return isRecord(extra) ? extra.create_time : undefined;
}

/** Heap order of ComfyUI's queue tuples: number first, then prompt_id. */
function aheadOf(numberA: number, idA: string, numberB: number, idB: string): boolean {
  return numberA < numberB || (numberA === numberB && idA < idB);
}

function notFoundMessage(id: string): string {
  return `No ComfyUI host of this project knows job ${id}. ComfyUI keeps finished jobs only in memory (restarts and the 10 000-entry history limit forget them) and keeps no record of jobs removed from its queue.`;
}

// ---- HTTP helpers -------------------------------------------------------------------------------

function parseBody(host: Host, res: HttpResponse): unknown {
  try {
    return JSON.parse(res.text);
  } catch {
    throw new BackendError('BACKEND_UNAVAILABLE', `backend "${host.client.name}" answered HTTP ${res.status} with a body that is not JSON`, { httpStatus: res.status });
  }
}

function jobSchemaParse(host: Host, res: HttpResponse): JobObject {
  const parsed = jobSchema.safeParse(parseBody(host, res));
  if (!parsed.success) throw badShape(host, 'the jobs API answered a job without a known id and status');
  return parsed.data;
}

function badShape(host: Host, what: string): BackendError {
  return new BackendError('BACKEND_UNAVAILABLE', `backend "${host.client.name}" answered in an unexpected shape: ${what}`);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isJsonObject(res: HttpResponse): boolean {
  return isRecord(safeJson(res.text));
}

function jsonErrorIs(res: HttpResponse, message: string): boolean {
  const body = safeJson(res.text);
  return isRecord(body) && body.error === message;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Waits for a shared promise, but gives up when this caller's signal aborts. */
function withSignal<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** A Map with a size bound (oldest entry out first) and an age limit. */
class BoundedMap<V> {
  private readonly entries = new Map<string, { value: V; at: number }>();
  private readonly max: number;
  private readonly maxAgeMs: number;
  private readonly now: () => number;

  constructor(max: number, maxAgeMs: number, now: () => number) {
    this.max = max;
    this.maxAgeMs = maxAgeMs;
    this.now = now;
  }

  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (this.now() - e.at > this.maxAgeMs) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  timeOf(key: string): number | undefined {
    return this.get(key) === undefined ? undefined : this.entries.get(key)?.at;
  }

  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, { value, at: this.now() });
    while (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
  }
}
